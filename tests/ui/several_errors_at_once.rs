use autodiff::grad;

#[grad]
fn f(x: f64, y: f64) -> f64 {
    let p = &x;
    let q = vec![y];
    let r = if y > 0.0 { x } else { y };
    p + q[0] + r
}

fn main() {}
