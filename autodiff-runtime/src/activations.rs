//! Scalar activation functions that `#[grad]` knows by name.
//!
//! Inside a `#[grad]` body, a call to `sigmoid`, `relu` or `softplus` (bare or
//! by a path ending in that name) is treated as the primitive defined here,
//! with the derivative rule of the macro's rule table. The forward value is
//! computed by the call exactly as the user wrote it.

use crate::real::Real;

/// The logistic function `1 / (1 + e^-x)`, written so that it neither
/// overflows for large negative `x` nor loses the result for large positive `x`.
#[inline(always)]
pub fn sigmoid<T: Real>(x: T) -> T {
    if x >= T::ZERO {
        T::ONE / (T::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::ONE + e)
    }
}

/// `max(x, 0)`, keeping `NaN` (a hidden `NaN` is a silent training bug).
#[inline(always)]
pub fn relu<T: Real>(x: T) -> T {
    if x > T::ZERO || x.is_nan() {
        x
    } else {
        T::ZERO
    }
}

/// `ln(1 + e^x)`, stable for large `|x|`; its derivative is `sigmoid(x)`.
#[inline(always)]
pub fn softplus<T: Real>(x: T) -> T {
    // ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|)
    let m = if x > T::ZERO { x } else { T::ZERO };
    m + ln_1p_pos((-x.abs()).exp())
}

#[inline(always)]
fn ln_1p_pos<T: Real>(e: T) -> T {
    (T::ONE + e).ln()
}
