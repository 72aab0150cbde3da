use autodiff::grad;

#[grad]
struct Point {
    x: f64,
}

fn main() {}
