//! `#[custom_grad]`: hand-written derivative rules, used by `#[grad]` callers.

#![allow(clippy::needless_range_loop)]

use autodiff::check::GradCheck;
use autodiff::{custom_grad, grad};

/// Numerically stable log-sum-exp with its rule: the gradient is softmax.
#[custom_grad(log_sum_exp_rule)]
fn log_sum_exp(x: &[f64]) -> f64 {
    let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + x.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// Backward multiplies the upstream gradient by the local one, reusing the
/// forward value `y` as PyTorch's `ctx.save_for_backward` would.
fn log_sum_exp_rule(x: &[f64], y: f64, cotangent: f64) -> Vec<f64> {
    x.iter().map(|v| cotangent * (v - y).exp()).collect()
}

#[grad]
fn softmax_loss(scores: &[f64], w: f64, label: usize) -> f64 {
    let mut s = vec![0.0; scores.len()];
    for i in 0..scores.len() {
        s[i] = scores[i] * w;
    }
    log_sum_exp(&s) - s[label]
}

/// A straight-through estimator: rounds forward, passes the gradient
/// through unchanged backward (finite differences would see zero).
#[custom_grad(ste_rule)]
fn round_ste(x: f64, _bits: u32) -> f64 {
    x.round()
}

fn ste_rule(_x: f64, _bits: u32, _y: f64, cotangent: f64) -> f64 {
    cotangent
}

#[grad]
fn quantised(x: f64, y: f64) -> f64 {
    round_ste(x * 3.0, 8) * y
}

#[test]
fn custom_rule_is_used_by_callers() {
    let scores = [0.3, -1.2, 2.0, 0.5];
    let (v, (gs, gw)) = softmax_loss_grad(&scores, 0.8, 2);
    assert_eq!(v, softmax_loss(&scores, 0.8, 2));
    let mut flat = scores.to_vec();
    flat.push(0.8);
    let mut g = gs.clone();
    g.push(gw);
    GradCheck::new()
        .check(|p| softmax_loss(&p[..4], p[4], 2), &flat, &g)
        .unwrap();

    // The STE's rule, not the true (zero) derivative, reaches the caller.
    let (v, (gx, gy)) = quantised_grad(0.4, 2.0);
    assert_eq!(v, 1.0 * 2.0);
    assert_eq!((gx, gy), (3.0 * 2.0, 1.0));

    // The callers take the rule's gradient at cotangent 1 with the value
    // (`f_grad_vjp`, or `f_vjp_into` into a scratch buffer for a vector) and
    // scale it by their own cotangent.
    assert!(SOFTMAX_LOSS_GRAD_SOURCE.contains("log_sum_exp_vjp_into(&s, 1.0,"));
    assert!(SOFTMAX_LOSS_GRAD_SOURCE.contains("accumulate_scaled("));
    assert!(QUANTISED_GRAD_SOURCE.contains("round_ste_grad_vjp("));
    let (ps, pw) = softmax_loss_pullback(&scores, 0.8, 2, -2.5);
    for (p, g) in ps.iter().chain([&pw]).zip(gs.iter().chain([&gw])) {
        assert!(
            (p + 2.5 * g).abs() <= 1e-14 * g.abs().max(1.0),
            "{p} vs {g}"
        );
    }
    assert_eq!(quantised_pullback(0.4, 2.0, -1.5), (-1.5 * 6.0, -1.5));
}

#[test]
fn custom_rule_gets_grad_and_pullback_too() {
    let (v, g) = log_sum_exp_grad(&[1.0, 2.0]);
    assert!((v - (1.0f64.exp() + 2.0f64.exp()).ln()).abs() < 1e-15);
    assert!((g[0] + g[1] - 1.0).abs() < 1e-15);
    let p = log_sum_exp_pullback(&[1.0, 2.0], 3.0);
    assert!((p[0] - 3.0 * g[0]).abs() < 1e-15);
    assert_eq!(round_ste_grad(1.4, 8), (1.0, 1.0));
}

/// A call into another crate: `autodiff::math::log_sum_exp` goes through
/// `autodiff::math::log_sum_exp_vjp`.
#[grad]
fn cross_crate(x: &[f64], t: f64) -> f64 {
    let mut y = vec![0.0; x.len()];
    for i in 0..x.len() {
        y[i] = x[i] * t;
    }
    autodiff::math::log_sum_exp(&y)
}

#[test]
fn calls_into_another_crate() {
    let x = [0.5, -1.0, 2.0];
    let (v, (gx, gt)) = cross_crate_grad(&x, 0.7);
    assert_eq!(v, cross_crate(&x, 0.7));
    let mut flat = x.to_vec();
    flat.push(0.7);
    let mut g = gx.clone();
    g.push(gt);
    GradCheck::new()
        .check(|p| cross_crate(&p[..3], p[3]), &flat, &g)
        .unwrap();
}
