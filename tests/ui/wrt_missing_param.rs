use autodiff::grad;

#[grad(wrt(w, bias))]
fn f(w: f64, b: f64) -> f64 {
    w * b
}

fn main() {}
