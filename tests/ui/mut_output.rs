use autodiff::grad;

// ADBench's C++ writes `Qtimesx(..., out)`; a #[grad] function returns one
// scalar instead, and its callers take vectors by `&v`.
#[grad]
fn subtract(x: &[f64], y: &[f64], out: &mut [f64]) -> f64 {
    for i in 0..x.len() {
        out[i] = x[i] - y[i];
    }
    out[0]
}

#[grad]
fn sqnorm(v: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..v.len() {
        s += v[i] * v[i];
    }
    s
}

#[grad]
fn caller(x: &[f64]) -> f64 {
    let mut v = vec![0.0; 2];
    fill(x, &mut v);
    sqnorm(&v)
}

fn fill(x: &[f64], v: &mut [f64]) {
    v[0] = x[0];
}

fn main() {}
