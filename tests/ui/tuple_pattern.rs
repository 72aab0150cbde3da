use autodiff::grad;

fn halves(x: f64) -> (f64, f64) {
    (x * 0.5, x * 0.5)
}

#[grad]
fn f(x: f64, y: f64) -> f64 {
    let (a, b) = halves(x * y);
    a * b
}

fn main() {}
