use autodiff::grad;

type Real = f64;

#[grad]
fn f(x: Real) -> f64 {
    x * x
}

fn main() {}
