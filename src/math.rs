//! Differentiable building blocks, usable from `#[grad]` functions in any
//! crate (a call `autodiff::math::log_sum_exp(&x)` is differentiated through
//! its rule).

use crate::custom_grad;

/// `ln Σ exp(x_i)`, computed without overflow (shifted by the maximum).
///
/// # Panics
/// If `x` is empty.
#[custom_grad(log_sum_exp_rule)]
pub fn log_sum_exp(x: &[f64]) -> f64 {
    assert!(!x.is_empty(), "log_sum_exp: empty slice");
    let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if m.is_infinite() {
        return m;
    }
    m + x.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// The rule of [`log_sum_exp`]: its gradient is `softmax(x) = exp(x - y)`.
pub fn log_sum_exp_rule(x: &[f64], y: f64, cotangent: f64) -> Vec<f64> {
    x.iter().map(|v| cotangent * (v - y).exp()).collect()
}
