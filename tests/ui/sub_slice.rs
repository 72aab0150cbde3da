use autodiff::grad;

#[grad]
fn norm(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for v in x {
        s += v * v;
    }
    s.sqrt()
}

// Passing `&x[0..2]` to a call is supported; binding it is not.
#[grad]
fn head_norm(x: &[f64]) -> f64 {
    let head = &x[0..2];
    norm(head)
}

#[grad]
fn tail_sum(x: &[f64]) -> f64 {
    x[1..].iter().sum()
}

fn main() {}
