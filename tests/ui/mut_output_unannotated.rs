use autodiff::grad;

fn fill(x: &[f64], v: &mut [f64]) {
    v[0] = x[0];
}

// A function without #[grad] writing into a vector the output depends on:
// the gradient goes through `fill_autodiff_out_vjp_into`, which #[grad] on
// `fill` would generate.
#[grad]
fn unannotated(x: &[f64]) -> f64 {
    let mut v = vec![0.0; 2];
    fill(x, &mut v);
    v[0] * v[1]
}

fn main() {}
