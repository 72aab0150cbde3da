use autodiff::grad;

#[grad]
fn norm(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for v in x {
        s += v * v;
    }
    s.sqrt()
}

// A bound sub-slice is indexed, measured, looped over and passed to calls.
#[grad]
fn head_norm(x: &[f64]) -> f64 {
    let head = &x[0..2];
    norm(head) + head[1] * head.len() as f64
}

// Iterator methods on it are not supported.
#[grad]
fn head_sum(x: &[f64]) -> f64 {
    let head = &x[0..2];
    head.iter().sum()
}

// Nor is a sub-slice anywhere but in a `let` or a call's argument.
#[grad]
fn tail_sum(x: &[f64]) -> f64 {
    x[1..].iter().sum()
}

fn main() {}
