// Macro defect 3: local fixed-size arrays, the natural container for 3-vectors
// (ADBench's BA: `T Xo[3], Xcam[3], w[3]`): `[0.0; 3]` is rejected, and so is
// writing an element of a local array. (`vec![0.0; 3]` works.)
#![allow(clippy::needless_range_loop)]
use autodiff::grad;

#[grad]
fn repeat_array(x: &[f64]) -> f64 {
    let mut y = [0.0; 3];
    for i in 0..3 {
        y[i] = x[i] * x[i];
    }
    y[0] + y[1] * y[2]
}

#[grad]
fn literal_array(x: &[f64]) -> f64 {
    let mut y = [x[0], x[1], x[2]];
    y[0] = y[0] * y[1];
    y[0] + y[2]
}

fn main() {
    println!("{:?}", repeat_array_grad(&[1.0, 2.0, 3.0]));
    println!("{:?}", literal_array_grad(&[1.0, 2.0, 3.0]));
}
