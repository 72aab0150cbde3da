use autodiff::grad;

// A function with an output parameter is differentiated as the map to what
// it writes there, so it returns nothing.
#[grad]
fn subtract(x: &[f64], y: &[f64], out: &mut [f64]) -> f64 {
    for i in 0..x.len() {
        out[i] = x[i] - y[i];
    }
    out[0]
}

// One output vector per function.
#[grad]
fn split(x: &[f64], lo: &mut [f64], hi: &mut [f64]) {
    lo[0] = x[0];
    hi[0] = x[1];
}

// A number written through `&mut`.
#[grad]
fn accumulate(x: f64, total: &mut f64) -> f64 {
    *total += x;
    x
}

#[grad]
fn scale(x: &[f64], out: &mut [f64]) {
    for i in 0..x.len() {
        out[i] = 2.0 * x[i];
    }
}

#[grad]
fn callers(x: &[f64]) -> f64 {
    let mut v = vec![0.0; 4];
    // Part of a vector: not supported.
    scale(&x[..2], &mut v[2..]);
    // A call writing into a vector stands as a statement of its own.
    let w = wrap(&mut v);
    v[0] + w
}

fn wrap(v: &mut [f64]) -> f64 {
    v[0]
}

fn main() {}
