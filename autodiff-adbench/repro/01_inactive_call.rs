// Macro defect 1: a call whose arguments are all constants (integers, or
// floats excluded by `wrt`) still needs `NAME_vjp`.
use autodiff::grad;

fn scale(c: f64, n: usize) -> f64 {
    c * n as f64
}

#[grad(wrt(x))]
fn f(x: f64, c: f64, n: usize) -> f64 {
    x * scale(c, n)
}

fn main() {
    let (v, g) = f_grad(2.0, 3.0, 4);
    println!("{v} {g}"); // expected 24, 12
}
