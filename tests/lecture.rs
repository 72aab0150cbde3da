//! The lectures' worked examples, reproduced to the printed digits.

mod common;
use autodiff::{grad, sigmoid};
use common::snapshot;

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[grad]
fn add_mul(x: f64, y: f64, z: f64) -> f64 {
    let q = x + y;
    q * z
}

#[test]
fn simple_example_x_plus_y_times_z() {
    // f(x, y, z) = (x + y) z at x = -2, y = 5, z = -4: q = 3, f = -12.
    let (f, (dx, dy, dz)) = add_mul_grad(-2.0, 5.0, -4.0);
    assert_eq!(f, -12.0);
    assert_eq!((dx, dy, dz), (-4.0, -4.0, 3.0));
}

#[grad]
fn neuron(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> f64 {
    let s0 = w0 * x0;
    let s1 = w1 * x1;
    let s2 = s0 + s1;
    let s3 = s2 + w2;
    sigmoid(s3)
}

/// The same neuron written as the slide's formula `1 / (1 + e^-(w0 x0 + w1 x1 + w2))`.
#[grad]
fn neuron_formula(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> f64 {
    1.0 / (1.0 + (-(w0 * x0 + w1 * x1 + w2)).exp())
}

#[test]
fn sigmoid_neuron_printed_digits() {
    let (value, (w0, x0, w1, x1, w2)) = neuron_grad(2.0, -1.0, -3.0, -2.0, -3.0);
    assert_eq!(round2(value), 0.73);
    assert_eq!(
        [w0, x0, w1, x1, w2].map(round2),
        [-0.20, 0.39, -0.39, -0.59, 0.20]
    );
    // Exact: s3 = 1, dσ/ds3 = σ(1)(1 - σ(1)).
    let s = 1.0 / (1.0 + (-1.0f64).exp());
    let local = s * (1.0 - s);
    assert!((w0 + local).abs() < 1e-15); // x0 = -1
    assert!((x1 - local * -3.0).abs() < 1e-15);
    // The formula version agrees (different graph, same function).
    let (v2, g2) = neuron_formula_grad(2.0, -1.0, -3.0, -2.0, -3.0);
    assert!((v2 - value).abs() < 1e-15);
    for (a, b) in [g2.0, g2.1, g2.2, g2.3, g2.4]
        .iter()
        .zip([w0, x0, w1, x1, w2])
    {
        assert!((a - b).abs() < 1e-15);
    }
}

/// The flat code of the lecture, written out by hand, for comparison.
fn neuron_flat_by_hand(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> (f64, [f64; 5]) {
    let s0 = w0 * x0;
    let s1 = w1 * x1;
    let s2 = s0 + s1;
    let s3 = s2 + w2;
    let l = sigmoid(s3);
    let grad_l = 1.0;
    let grad_s3 = grad_l * (1.0 - l) * l;
    let grad_w2 = grad_s3;
    let grad_s2 = grad_s3;
    let grad_s0 = grad_s2;
    let grad_s1 = grad_s2;
    let grad_w1 = grad_s1 * x1;
    let grad_x1 = grad_s1 * w1;
    let grad_w0 = grad_s0 * x0;
    let grad_x0 = grad_s0 * w0;
    (l, [grad_w0, grad_x0, grad_w1, grad_x1, grad_w2])
}

#[test]
fn generated_equals_the_lectures_flat_code_bit_for_bit() {
    let (v, g) = neuron_grad(2.0, -1.0, -3.0, -2.0, -3.0);
    let (hv, hg) = neuron_flat_by_hand(2.0, -1.0, -3.0, -2.0, -3.0);
    assert_eq!(v.to_bits(), hv.to_bits());
    assert_eq!(
        [g.0, g.1, g.2, g.3, g.4].map(f64::to_bits),
        hg.map(f64::to_bits)
    );
}

// Patterns in backward flow: f = 2 (x y + max(z, w)) at x = 3, y = -4, z = 2, w = -1.
#[grad]
fn gates(x: f64, y: f64, z: f64, w: f64) -> f64 {
    let m = x * y; // mul gate: swap multiplier
    let r = z.max(w); // max gate: gradient router
    let s = m + r; // add gate: gradient distributor
    s * 2.0
}

#[test]
fn add_mul_max_gates() {
    let (f, (dx, dy, dz, dw)) = gates_grad(3.0, -4.0, 2.0, -1.0);
    assert_eq!(f, -20.0);
    assert_eq!((dx, dy, dz, dw), (-8.0, 6.0, 2.0, 0.0));
}

// copy gate: gradient adder. x feeds two branches.
#[grad]
fn copy_gate(x: f64, y: f64) -> f64 {
    let a = x * y;
    let b = x + y;
    a + b
}

#[test]
fn copy_gate_adds_gradients() {
    let (_, (dx, dy)) = copy_gate_grad(3.0, -4.0);
    assert_eq!(dx, -4.0 + 1.0);
    assert_eq!(dy, 3.0 + 1.0);
}

#[test]
fn add_gate_distributes_mul_gate_swaps() {
    let (_, (dx, dy, dz)) = add_mul_grad(1.5, 2.5, 7.0);
    assert_eq!((dx, dy), (7.0, 7.0)); // add: both get the upstream gradient
    assert_eq!(dz, 4.0); // mul: z gets the other factor
}

// f(x1, x2) = x1 x2 + sin(x1) (GaTech, forward vs reverse mode).
#[grad]
fn x1x2_sin(x1: f64, x2: f64) -> f64 {
    let w1 = x1;
    let w2 = x2;
    let w3 = w1 * w2;
    let w4 = w1.sin();
    w3 + w4
}

#[test]
fn x1_x2_plus_sin_x1() {
    for (x1, x2) in [(2.0, 3.0), (-1.0, 0.5), (0.0, 0.0), (4.0, -2.0)] {
        let (f, (d1, d2)) = x1x2_sin_grad(x1, x2);
        assert_eq!(f, x1 * x2 + f64::sin(x1));
        assert!((d1 - (x2 + f64::cos(x1))).abs() < 1e-15);
        assert_eq!(d2, x1);
    }
}

// HW0: f(x) = σ(log(5 (max(x1, x2) x3 / x4 − (x5 + x6)))) + 1/2.
#[grad]
fn hw0(x1: f64, x2: f64, x3: f64, x4: f64, x5: f64, x6: f64) -> f64 {
    sigmoid((5.0 * (x1.max(x2) * x3 / x4 - (x5 + x6))).ln()) + 0.5
}

#[test]
fn hw0_function_against_hand_derivation() {
    let x = [1.0, 3.0, 2.0, 1.0, 0.5, 0.25];
    let (f, g) = hw0_grad(x[0], x[1], x[2], x[3], x[4], x[5]);
    // By hand: u = max(x1, x2) x3 / x4 - (x5 + x6) = 5.25, v = ln(5u),
    // f = σ(v) + 1/2, df/du = σ'(v) / u.
    let u = x[1] * x[2] / x[3] - (x[4] + x[5]);
    let s = 1.0 / (1.0 + (-(5.0 * u).ln()).exp());
    let dfdu = s * (1.0 - s) / u;
    assert!((f - (s + 0.5)).abs() < 1e-15);
    let expected = [
        0.0,                                 // x1 < x2: the max routes nothing to x1
        dfdu * x[2] / x[3],                  // x2
        dfdu * x[1] / x[3],                  // x3
        -dfdu * x[1] * x[2] / (x[3] * x[3]), // x4
        -dfdu,                               // x5
        -dfdu,                               // x6
    ];
    for (a, e) in [g.0, g.1, g.2, g.3, g.4, g.5].iter().zip(expected) {
        assert!((a - e).abs() < 1e-14, "{a} vs {e}");
    }
}

/// The generated code of the lecture examples is pinned (see
/// `common::snapshot`).
#[test]
fn snapshots_of_generated_code() {
    snapshot("add_mul", ADD_MUL_GRAD_SOURCE);
    snapshot("neuron", NEURON_GRAD_SOURCE);
    snapshot("neuron_formula", NEURON_FORMULA_GRAD_SOURCE);
    snapshot("gates", GATES_GRAD_SOURCE);
    snapshot("copy_gate", COPY_GATE_GRAD_SOURCE);
    snapshot("x1x2_sin", X1X2_SIN_GRAD_SOURCE);
    snapshot("hw0", HW0_GRAD_SOURCE);
}
