use autodiff::grad;

#[grad]
fn f(x: f64, y: f64) -> f64 {
    let p = &x;
    let q = (y, x);
    let r = |v: f64| v * y;
    let s = unsafe { x };
    p + q.0 + r(s)
}

fn main() {}
