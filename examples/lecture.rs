//! The lectures' scalar examples: values, gradients, and the flat adjoint
//! code `#[grad]` generated for each (`cargo run --release --example lecture`).

use autodiff::{grad, sigmoid};

/// `f(x, y, z) = (x + y) z`, the first worked example.
#[grad]
fn add_mul(x: f64, y: f64, z: f64) -> f64 {
    let q = x + y;
    q * z
}

/// The sigmoid neuron of the "flat code" slide, with the slide's names.
#[allow(non_snake_case, clippy::let_and_return)]
#[grad]
fn neuron(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> f64 {
    let s0 = w0 * x0;
    let s1 = w1 * x1;
    let s2 = s0 + s1;
    let s3 = s2 + w2;
    let L = sigmoid(s3);
    L
}

/// `f(x1, x2) = x1 x2 + sin(x1)` (GaTech lecture, forward vs reverse mode).
#[grad]
fn x1x2_sin(x1: f64, x2: f64) -> f64 {
    x1 * x2 + x1.sin()
}

/// The HW0 function `σ(log(5 (max(x1, x2) x3 / x4 − (x5 + x6)))) + 1/2`.
#[grad]
fn hw0(x1: f64, x2: f64, x3: f64, x4: f64, x5: f64, x6: f64) -> f64 {
    sigmoid((5.0 * (x1.max(x2) * x3 / x4 - (x5 + x6))).ln()) + 0.5
}

fn main() {
    let (v, g) = add_mul_grad(-2.0, 5.0, -4.0);
    println!("(x + y) z at (-2, 5, -4): value {v}, gradient {g:?}\n{ADD_MUL_GRAD_SOURCE}");
    let (v, g) = neuron_grad(2.0, -1.0, -3.0, -2.0, -3.0);
    println!("sigmoid neuron: value {v:.2}, gradient {g:.2?}\n{NEURON_GRAD_SOURCE}");
    let (v, g) = x1x2_sin_grad(2.0, 3.0);
    println!("x1 x2 + sin x1 at (2, 3): value {v:.4}, gradient {g:.4?}\n{X1X2_SIN_GRAD_SOURCE}");
    let (v, g) = hw0_grad(1.0, 3.0, 2.0, 1.0, 0.5, 0.25);
    println!("HW0: value {v:.6}, gradient {g:.6?}\n{HW0_GRAD_SOURCE}");
}
