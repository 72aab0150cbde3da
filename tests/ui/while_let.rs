use autodiff::grad;

#[grad]
fn f(x: f64, n: usize) -> f64 {
    let mut stack = vec![1.0; n];
    let mut acc = x;
    while let Some(v) = stack.pop() {
        acc *= v;
    }
    acc
}

fn main() {}
