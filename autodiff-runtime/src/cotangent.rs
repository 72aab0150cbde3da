//! Vector adjoints, for generated code over slices, arrays and `Vec`s.
//!
//! The adjoint of a vector value is an owned vector of the same length: a
//! `Vec<T>` for slices and `Vec`s, a `[T; N]` for arrays. The macro cannot
//! see which of these a parameter is once it is in a body, so it calls
//! [`zeros_like`] and rustc picks the type.

use crate::real::Real;

/// A vector value whose adjoint can be created and accumulated.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no vector adjoint",
    label = "#[grad] differentiates `&[f32]`, `&[f64]`, `[f64; N]` and `Vec<f64>` vectors",
    note = "pass the values as a slice, an array or a `Vec` of `f32`/`f64`"
)]
pub trait Cotangent {
    /// The type of the adjoint.
    type Zero;
    fn zeros_like(&self) -> Self::Zero;
}

impl<T: Real> Cotangent for [T] {
    type Zero = Vec<T>;
    fn zeros_like(&self) -> Vec<T> {
        vec![T::ZERO; self.len()]
    }
}

impl<T: Real> Cotangent for Vec<T> {
    type Zero = Vec<T>;
    fn zeros_like(&self) -> Vec<T> {
        vec![T::ZERO; self.len()]
    }
}

impl<T: Real, const N: usize> Cotangent for [T; N] {
    type Zero = [T; N];
    fn zeros_like(&self) -> [T; N] {
        [T::ZERO; N]
    }
}

impl<V: Cotangent + ?Sized> Cotangent for &V {
    type Zero = V::Zero;
    fn zeros_like(&self) -> V::Zero {
        (**self).zeros_like()
    }
}

/// A zero adjoint shaped like `v`.
#[inline]
pub fn zeros_like<V: Cotangent + ?Sized>(v: &V) -> V::Zero {
    v.zeros_like()
}

/// `dst[i] += src[i]`: a vector contribution to a vector adjoint.
///
/// # Panics
/// If the lengths differ (a vector passed to a call came back another length).
#[inline]
pub fn accumulate<T: Real>(dst: &mut [T], src: &[T]) {
    assert_eq!(
        dst.len(),
        src.len(),
        "accumulate: adjoint of length {} and contribution of length {} differ",
        dst.len(),
        src.len()
    );
    for (d, s) in dst.iter_mut().zip(src) {
        *d += *s;
    }
}

/// The sum of a vector adjoint: what flows back to `v` from `vec![v; n]`.
#[inline]
pub fn sum<T: Real>(v: &[T]) -> T {
    v.iter().fold(T::ZERO, |a, &b| a + b)
}

/// `v[i] += g` for every element: what flows back to `x` from `x.iter().sum()`.
#[inline]
pub fn add_to_all<T: Real>(v: &mut [T], g: T) {
    for e in v {
        *e += g;
    }
}
