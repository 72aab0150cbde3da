use autodiff::grad;

fn bump(a: f64, s: &mut f64) {
    *s += a;
}

fn fill(x: &[f64], v: &mut [f64]) {
    v[0] = x[0];
}

// A float written through `&mut`, which the output depends on.
#[grad]
fn scalar(x: &[f64]) -> f64 {
    let mut s = 0.0;
    bump(x[0], &mut s);
    s * x[1]
}

// Inactive calls need nothing: data written by a plain function.
#[grad]
fn data(x: &[f64]) -> f64 {
    let mut v = vec![0.0; 2];
    fill(&[1.0, 2.0], &mut v);
    let mut s = 0.0;
    bump(3.0, &mut s);
    v[0] * x[0] + s
}

fn main() {}
