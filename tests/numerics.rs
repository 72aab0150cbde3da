//! Numerical edge cases of generated code and the runtime: NaN and
//! infinities propagate rather than being hidden; kinks follow one
//! documented convention, PyTorch's; log-sum-exp stays finite for logits of
//! ±1e4; division by zero gives the IEEE result, never a panic.

#![allow(clippy::needless_range_loop)]

use autodiff::grad;
use autodiff::runtime::tensor::{self, Tensor};
use autodiff::{relu, sigmoid};

#[grad]
fn root(x: f64) -> f64 {
    x.sqrt() * 2.0
}

#[grad]
fn through_a_loop(x: f64, y: f64) -> f64 {
    let mut acc = y;
    for _ in 0..3 {
        acc = acc * x + 1.0;
    }
    acc
}

#[test]
fn nan_propagates_to_the_gradient() {
    let (v, g) = root_grad(-1.0);
    assert!(v.is_nan() && g.is_nan(), "{v} {g}");
    let (v, (gx, gy)) = through_a_loop_grad(f64::NAN, 2.0);
    assert!(v.is_nan() && gx.is_nan() && gy.is_nan());
}

#[grad]
fn kinks(x: f64, y: f64) -> f64 {
    x.max(y) + x.min(y) * 2.0 + relu(x) * 3.0 + x.abs() * 5.0
}

#[test]
fn kinks_follow_pytorch() {
    // At a tie max and min split their gradient evenly (torch.maximum /
    // torch.minimum); relu and abs have derivative 0 at 0 (threshold_backward,
    // sgn).
    let (_, (gx, gy)) = kinks_grad(0.0, 0.0);
    assert_eq!(gx, 0.5 + 2.0 * 0.5);
    assert_eq!(gy, 0.5 + 2.0 * 0.5);
    // Away from the kinks, the one-sided derivatives.
    let (_, (gx, gy)) = kinks_grad(1.0, 0.0);
    assert_eq!((gx, gy), (1.0 + 3.0 + 5.0, 2.0));
    // A NaN operand: f64::max returns the other operand, so the gradient
    // follows it; relu and abs of NaN have a NaN derivative.
    let (v, (gx, gy)) = kinks_grad(f64::NAN, 1.0);
    assert!(v.is_nan() && gx.is_nan());
    assert_eq!(gy, 1.0 + 2.0);
}

#[grad]
fn quotient(x: f64, y: f64) -> f64 {
    x / y + 1.0 / x
}

#[test]
fn division_by_zero_is_ieee_not_a_panic() {
    let (v, (gx, gy)) = quotient_grad(1.0, 0.0);
    assert_eq!(v, f64::INFINITY);
    assert_eq!(gx, f64::INFINITY); // 1/y - 1/x² = inf - 1
    assert!(gy.is_infinite() || gy.is_nan());
    let (v, (gx, _)) = quotient_grad(0.0, 1.0);
    assert_eq!(v, f64::INFINITY);
    assert_eq!(gx, f64::NEG_INFINITY);
    let (v, (gx, gy)) = quotient_grad(0.0, 0.0);
    assert!(v.is_nan() && gx.is_nan() && gy.is_nan());
}

#[grad]
fn exp_overflow(x: f64) -> f64 {
    x.exp() - x
}

#[test]
fn infinities_propagate() {
    let (v, g) = exp_overflow_grad(1000.0);
    assert_eq!((v, g), (f64::INFINITY, f64::INFINITY));
    assert_eq!(sigmoid(1e4f64), 1.0);
    assert_eq!(sigmoid(-1e4f64), 0.0);
}

/// Log-sum-exp written as users write it, with the max shift.
#[grad]
fn lse(x: &[f64]) -> f64 {
    let mut m = x[0];
    for i in 1..x.len() {
        m = m.max(x[i]);
    }
    let mut s = 0.0;
    for v in x {
        s += (v - m).exp();
    }
    m + s.ln()
}

#[test]
fn log_sum_exp_is_finite_at_large_logits() {
    for x in [
        [1e4, -1e4, 0.0],
        [-1e4, -1e4 + 1.0, -1e4 + 2.0],
        [1e4, 1e4, 1e4],
    ] {
        let (v, g) = lse_grad(&x);
        assert!(v.is_finite(), "{x:?}: {v}");
        assert!(g.iter().all(|v| v.is_finite()), "{x:?}: {g:?}");
        assert!(
            (g.iter().sum::<f64>() - 1.0).abs() < 1e-12,
            "softmax sums to 1"
        );
        let (v2, g2) = autodiff::math::log_sum_exp_grad(&x);
        assert!((v - v2).abs() <= 1e-9 * v.abs().max(1.0));
        for (a, b) in g.iter().zip(&g2) {
            assert!((a - b).abs() < 1e-12);
        }
    }
}

#[test]
fn tensor_losses_are_finite_at_large_logits() {
    let logits = Tensor::from_vec(vec![1e4, -1e4, 0.0, -1e4, 1e4, 1e4], &[2, 3]);
    let labels = [1usize, 2];
    let loss = tensor::softmax_cross_entropy(&logits, &labels);
    assert!(loss.item().is_finite(), "{loss}");
    let g = tensor::softmax_cross_entropy_pullback(&logits, &labels, &loss, &Tensor::scalar(1.0));
    assert!(g.data().iter().all(|v| v.is_finite()));
    let ls = tensor::log_softmax(&logits);
    assert!(ls.data().iter().all(|v| v.is_finite()));
}

#[test]
fn tensor_kinks_match_the_scalar_rules() {
    let x = Tensor::from_vec(vec![-1.0, 0.0, 2.0, f32::NAN], &[4]);
    let y = tensor::relu(&x);
    let g = tensor::relu_pullback(&x, &y, &Tensor::ones(&[4]));
    assert_eq!(&g.data()[..3], &[0.0, 0.0, 1.0]);
    let a = Tensor::from_vec(vec![1.0, 2.0], &[2]);
    let b = Tensor::from_vec(vec![1.0, 3.0], &[2]);
    let m = tensor::maximum(&a, &b);
    let (ga, gb) = tensor::maximum_pullback(&a, &b, &m, &Tensor::ones(&[2]));
    assert_eq!((ga.data(), gb.data()), (&[0.5, 0.0][..], &[0.5, 1.0][..]));
}
