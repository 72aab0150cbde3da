use autodiff::grad;

#[grad]
fn f(n: i32, flag: bool) -> f64 {
    n as f64 + flag as i32 as f64
}

fn main() {}
