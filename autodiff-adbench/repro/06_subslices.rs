// Limitation 6 (listed here because the issue counts it against the macro):
// sub-slices. The natural Rust for ADBench's pointer arithmetic
// (`&means[ik * d]`, `&x[ix * d]`) is a sub-slice passed to a helper, which
// `#[grad]` rejected. Fixed (2026-11-25): sub-slices passed to calls are
// supported; this prints `(9.0, [-1.0, 1.0, 3.0, 5.0])`.
use autodiff::grad;

#[grad]
fn sqdist(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() {
        let t = a[i] - b[i];
        s += t * t;
    }
    s
}

#[grad(wrt(means))]
fn nearest(means: &[f64], x: &[f64], d: usize) -> f64 {
    let k = means.len() / d;
    let mut s = 0.0;
    for ik in 0..k {
        s += sqdist(&means[ik * d..(ik + 1) * d], x);
    }
    s
}

fn main() {
    println!("{:?}", nearest_grad(&[0.0, 1.0, 2.0, 3.0], &[0.5, 0.5], 2));
}
