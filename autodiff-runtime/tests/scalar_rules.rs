//! The conventions of the scalar rule helpers (ties, kinks, NaN) and the
//! gradient checker's verdicts.

use autodiff_runtime::check::{numeric_gradient, GradCheck};
use autodiff_runtime::rules::*;
use autodiff_runtime::{relu, sigmoid, softplus};

#[test]
fn max_min_route_to_the_result_and_split_ties() {
    assert_eq!(max_share(2.0, 1.0), 1.0);
    assert_eq!(max_share(1.0, 2.0), 0.0);
    assert_eq!(max_share(1.5, 1.5), 0.5);
    assert_eq!(min_share(1.0, 2.0), 1.0);
    assert_eq!(min_share(1.5f32, 1.5), 0.5);
    // f64::max returns the non-NaN operand; its gradient follows it.
    assert_eq!(max_share(f64::NAN, 1.0), 0.0);
    assert_eq!(max_share(1.0, f64::NAN), 1.0);
    assert!(max_share(f64::NAN, f64::NAN).is_nan());
}

#[test]
fn kinks_and_nan() {
    assert_eq!(relu_slope(0.0), 0.0);
    assert_eq!(relu_slope(1e-300), 1.0);
    assert!(relu_slope(f64::NAN).is_nan());
    assert!(relu(f64::NAN).is_nan());
    assert_eq!(abs_slope(0.0), 0.0);
    assert_eq!(abs_slope(-3.0), -1.0);
    assert!(abs_slope(f32::NAN).is_nan());
    assert_eq!(clamp_dx(1.0, 1.0, 2.0), 1.0); // bounds included, as PyTorch
    assert_eq!(clamp_dlo(0.5, 1.0, 2.0), 1.0);
    assert_eq!(clamp_dhi(2.5, 1.0, 2.0), 1.0);
    assert_eq!(powi_dx(2.0, 0), 0.0);
    assert_eq!(powi_dx(2.0, 3), 12.0);
}

#[test]
fn activations_are_stable_at_extremes() {
    assert_eq!(sigmoid(-1000.0f64), 0.0);
    assert_eq!(sigmoid(1000.0f64), 1.0);
    assert_eq!(softplus(1000.0f64), 1000.0);
    assert!(softplus(-1000.0f64) >= 0.0 && softplus(-1000.0f64) < 1e-300);
    assert!((softplus(0.0f64) - 2f64.ln()).abs() < 1e-15);
    assert!((sigmoid(0.3f32) - 0.574_442_5).abs() < 1e-6);
}

#[test]
fn checker_accepts_right_and_rejects_wrong_gradients() {
    let f = |v: &[f64]| (v[0] + v[1]) * v[2];
    let x = [-2.0, 5.0, -4.0];
    assert!(GradCheck::new().check(f, &x, &[-4.0, -4.0, 3.0]).is_ok());
    let err = GradCheck::new()
        .check(f, &x, &[-4.0, -4.0, 3.01])
        .unwrap_err();
    assert!(!err.entries[2].ok && err.entries[0].ok);
    assert!(err.to_string().contains("MISMATCH"));
    let g = numeric_gradient(f, &x, 1e-6);
    assert!((g[2] - 3.0).abs() < 1e-8);
    // f32 settings accept single-precision answers.
    let f32f = |v: &[f32]| v[0].sin() * v[1];
    let (a, b) = (0.7f32, 1.3f32);
    assert!(GradCheck::f32()
        .check(f32f, &[a, b], &[a.cos() * b, a.sin()])
        .is_ok());
}
