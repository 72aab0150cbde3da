//! The lectures' examples: values, gradients, and the flat adjoint code
//! `#[grad]` generated for each (`cargo run --release --example lecture`).

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

/// Patterns in backward flow: add distributes, mul swaps, max routes.
#[grad]
fn gates(x: f64, y: f64, z: f64, w: f64) -> f64 {
    2.0 * (x * y + z.max(w))
}

/// `f(x1, x2) = x1 x2 + sin(x1)` (forward vs reverse mode).
#[grad]
fn x1x2_sin(x1: f64, x2: f64) -> f64 {
    x1 * x2 + x1.sin()
}

/// The HW0 function `σ(log(5 (max(x1, x2) x3 / x4 − (x5 + x6)))) + 1/2`.
#[grad]
fn hw0(x1: f64, x2: f64, x3: f64, x4: f64, x5: f64, x6: f64) -> f64 {
    sigmoid((5.0 * (x1.max(x2) * x3 / x4 - (x5 + x6))).ln()) + 0.5
}

/// The GaTech loop: l1 = x, l_{n+1} = 4 l_n (1 - l_n), f = l4.
#[grad]
fn logistic_map(x: f64) -> f64 {
    let mut l = x;
    for _ in 0..3 {
        l = 4.0 * l * (1.0 - l);
    }
    l
}

/// The softmax loss of one example: scores `s = W x`, loss `-log softmax(s)[y]`.
#[grad(wrt(w))]
fn softmax_loss(w: &[f64], x: &[f64], label: usize) -> f64 {
    let d = x.len();
    let c = w.len() / d;
    let mut scores = vec![0.0; c];
    let mut m = f64::NEG_INFINITY;
    for k in 0..c {
        for j in 0..d {
            scores[k] += w[k * d + j] * x[j];
        }
        m = m.max(scores[k]);
    }
    let mut z = 0.0;
    for s in &scores {
        z += (s - m).exp();
    }
    m + z.ln() - scores[label]
}

fn show(title: &str, value: f64, grads: &str, source: &str) {
    println!("== {title}\nvalue {value:.6}\ngradient {grads}\n\n{source}");
}

fn main() {
    let (v, g) = add_mul_grad(-2.0, 5.0, -4.0);
    show(
        "(x + y) z at (-2, 5, -4)",
        v,
        &format!("{g:?}"),
        ADD_MUL_GRAD_SOURCE,
    );
    let (v, g) = neuron_grad(2.0, -1.0, -3.0, -2.0, -3.0);
    show(
        "sigmoid neuron, w = (2, -3, -3), x = (-1, -2)",
        v,
        &format!("{g:.2?}"),
        NEURON_GRAD_SOURCE,
    );
    let (v, g) = gates_grad(3.0, -4.0, 2.0, -1.0);
    show(
        "2 (x y + max(z, w)) at (3, -4, 2, -1)",
        v,
        &format!("{g:?}"),
        GATES_GRAD_SOURCE,
    );
    let (v, g) = x1x2_sin_grad(2.0, 3.0);
    show(
        "x1 x2 + sin x1 at (2, 3)",
        v,
        &format!("{g:.4?}"),
        X1X2_SIN_GRAD_SOURCE,
    );
    let (v, g) = hw0_grad(1.0, 3.0, 2.0, 1.0, 0.5, 0.25);
    show(
        "HW0 at (1, 3, 2, 1, 0.5, 0.25)",
        v,
        &format!("{g:.6?}"),
        HW0_GRAD_SOURCE,
    );
    let (v, g) = logistic_map_grad(0.3);
    show(
        "logistic map, 3 steps from 0.3",
        v,
        &format!("{g:.6}"),
        LOGISTIC_MAP_GRAD_SOURCE,
    );
    let w = [0.2, -0.5, 0.1, 0.4, 0.3, -0.2];
    let (v, g) = softmax_loss_grad(&w, &[1.0, -2.0], 1);
    show(
        "softmax loss, 3 classes, 2 features, label 1",
        v,
        &format!("{g:.4?}"),
        SOFTMAX_LOSS_GRAD_SOURCE,
    );
}
