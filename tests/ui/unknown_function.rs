use autodiff::grad;

fn helper(v: f64) -> f64 {
    v * 3.0
}

#[grad]
fn f(x: f64) -> f64 {
    let y = helper(x);
    y + x
}

fn main() {}
