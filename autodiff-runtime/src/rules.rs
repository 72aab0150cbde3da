//! Helpers called by generated adjoint code (`::autodiff::__rt::*`).
//!
//! Most rules are emitted as plain arithmetic. These are the ones that need a
//! branch on the value, or a typed constant that an untyped literal operand
//! cannot give (`x.log(10.0)`): taking the differentiated value as a typed
//! argument lets rustc pick `f32` or `f64`. Each is `#[inline(always)]`, so
//! the optimised gradient is the same machine code as a hand-written one.
//!
//! Conventions at kinks (documented in the README, matching PyTorch):
//! `max`/`min` split the gradient evenly at ties; `relu` and `abs` have
//! derivative 0 at 0; a `NaN` input gives a `NaN` derivative, never a hidden 0.

use crate::real::Real;

/// Share of `max(x, other)`'s gradient that goes to `x`: 1 if `x` is the
/// result, 0 if `other` is, 1/2 at a tie. `f64::max` returns the non-`NaN`
/// operand, so the gradient follows it.
#[inline(always)]
pub fn max_share<T: Real>(x: T, other: T) -> T {
    if x.is_nan() && other.is_nan() {
        T::NAN
    } else if x.is_nan() || x < other {
        T::ZERO
    } else if other.is_nan() || x > other {
        T::ONE
    } else {
        T::HALF
    }
}

/// Share of `min(x, other)`'s gradient that goes to `x` (see [`max_share`]).
#[inline(always)]
pub fn min_share<T: Real>(x: T, other: T) -> T {
    if x.is_nan() && other.is_nan() {
        T::NAN
    } else if x.is_nan() || x > other {
        T::ZERO
    } else if other.is_nan() || x < other {
        T::ONE
    } else {
        T::HALF
    }
}

/// Derivative of `relu` at `x`: 1 above 0, 0 at and below 0, `NaN` at `NaN`.
#[inline(always)]
pub fn relu_slope<T: Real>(x: T) -> T {
    if x > T::ZERO {
        T::ONE
    } else if x.is_nan() {
        x
    } else {
        T::ZERO
    }
}

/// Derivative of `abs` at `x`: the sign of `x`, 0 at 0, `NaN` at `NaN`.
#[inline(always)]
pub fn abs_slope<T: Real>(x: T) -> T {
    if x > T::ZERO {
        T::ONE
    } else if x < T::ZERO {
        -T::ONE
    } else if x.is_nan() {
        x
    } else {
        T::ZERO
    }
}

/// Derivative of `clamp(x, lo, hi)` with respect to `x`: 1 inside `[lo, hi]`
/// (bounds included, as PyTorch), else 0.
#[inline(always)]
pub fn clamp_dx<T: Real>(x: T, lo: T, hi: T) -> T {
    if x.is_nan() {
        x
    } else if x >= lo && x <= hi {
        T::ONE
    } else {
        T::ZERO
    }
}

/// Derivative of `clamp(x, lo, hi)` with respect to `lo`: 1 when `lo` is the result.
#[inline(always)]
pub fn clamp_dlo<T: Real>(x: T, lo: T, _hi: T) -> T {
    if x < lo {
        T::ONE
    } else {
        T::ZERO
    }
}

/// Derivative of `clamp(x, lo, hi)` with respect to `hi`: 1 when `hi` is the result.
#[inline(always)]
pub fn clamp_dhi<T: Real>(x: T, _lo: T, hi: T) -> T {
    if x > hi {
        T::ONE
    } else {
        T::ZERO
    }
}

/// `d/dx x.powi(n) = n x^(n-1)`, for an exponent known only at run time.
#[inline(always)]
pub fn powi_dx<T: Real>(x: T, n: i32) -> T {
    if n == 0 {
        T::ZERO
    } else {
        T::from_i32(n) * x.powi(n - 1)
    }
}

/// `d/dx x.log(base) = 1 / (x ln base)`.
#[inline(always)]
pub fn log_dx<T: Real>(x: T, base: T) -> T {
    T::ONE / (x * base.ln())
}

/// `d/dbase x.log(base) = -ln x / (base ln² base)`.
#[inline(always)]
pub fn log_dbase<T: Real>(x: T, base: T) -> T {
    let lb = base.ln();
    -x.ln() / (base * lb * lb)
}

/// The cotangent of `x as D` flows back to `x`'s own type: `grad as S`.
#[inline(always)]
pub fn cast_back<D: Real, S: Real>(grad: D, _like: S) -> S {
    S::from_f64(grad.to_f64())
}

/// `d/dx x % y = 1`, `d/dy x % y = -trunc(x / y)`.
#[inline(always)]
pub fn rem_dy<T: Real>(x: T, y: T) -> T {
    let q = (x / y).to_f64().trunc();
    -T::from_f64(q)
}

/// The indices of `start..` taken `count` times, last first: the reverse
/// sweep of `for i in start..end` replays them without a tape.
#[inline]
pub fn rev_range<T>(start: T, count: usize) -> impl Iterator<Item = T>
where
    T: Copy + core::ops::Add<Output = T> + TryFrom<usize>,
{
    (0..count).rev().map(move |j| start + index_from(j))
}

/// The indices of `(..end).rev()` (or `(..=end).rev()`) taken `count` times,
/// last first: `end - count ..`, increasing.
#[inline]
pub fn unrev_range<T>(end: T, inclusive: bool, count: usize) -> impl Iterator<Item = T>
where
    T: Copy + core::ops::Sub<Output = T> + TryFrom<usize>,
{
    let top = if inclusive { 0 } else { 1 };
    (0..count).rev().map(move |j| end - index_from(j + top))
}

/// The indices of `(start..).step_by(step)` taken `count` times, last first.
#[inline]
pub fn rev_range_step<T>(start: T, step: usize, count: usize) -> impl Iterator<Item = T>
where
    T: Copy + core::ops::Add<Output = T> + TryFrom<usize>,
{
    (0..count).rev().map(move |j| start + index_from(j * step))
}

#[inline(always)]
fn index_from<T: TryFrom<usize>>(j: usize) -> T {
    match T::try_from(j) {
        Ok(v) => v,
        // The forward loop produced this index, so it fits its type.
        Err(_) => unreachable!("a replayed loop index fits the loop variable's type"),
    }
}

/// `v`, with the type of `_like`: a constant assigned to a new version of a
/// variable keeps the variable's type (`x = 0.1;` then `x.abs()`).
#[inline(always)]
pub fn like<T>(_like: &T, v: T) -> T {
    v
}
