use autodiff::grad;

#[grad]
fn f(x: f64) {
    let _ = x * 2.0;
}

fn main() {}
