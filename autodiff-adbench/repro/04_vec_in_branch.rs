// Macro defect 4: a local vector created inside an `if` branch and then
// written element by element: the expansion pushes the whole vector and its
// elements on the same tape (`tape_a.push(a)` and `tape_a.push(a[i])`), and
// the generated code does not compile (E0308, `expected Vec<{float}>, found
// floating-point number` at the `#[grad]` attribute).
#![allow(clippy::needless_range_loop)]
use autodiff::grad;

#[grad]
fn vec_in_branch(x: &[f64], c: f64) -> f64 {
    let mut s = 0.0;
    if c > 0.0 {
        let mut a = vec![0.0; 2];
        for i in 0..2 {
            a[i] = x[i] * c;
        }
        s = a[0] * a[1];
    }
    s
}

fn main() {
    println!("{:?}", vec_in_branch_grad(&[1.0, 2.0], 3.0)); // expected (18, ([6, 3], 12))
}
