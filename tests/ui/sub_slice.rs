use autodiff::grad;

#[grad]
fn norm(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for v in x {
        s += v * v;
    }
    s.sqrt()
}

#[grad]
fn head_norm(x: &[f64]) -> f64 {
    norm(&x[0..2])
}

fn main() {}
