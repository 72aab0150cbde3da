use autodiff::grad;

#[grad]
fn f(x: f64, n: i32) -> f64 {
    if let 3 = n {
        x.powi(3)
    } else {
        x
    }
}

fn main() {}
