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
    /// Makes `adjoint` [`Cotangent::zeros_like`] this value, reusing its
    /// storage.
    fn reset(&self, adjoint: &mut Self::Zero);
}

/// Zeros of length `n` in `adjoint`'s own buffer.
fn refill<T: Real>(adjoint: &mut Vec<T>, n: usize) {
    adjoint.clear();
    adjoint.resize(n, T::ZERO);
}

impl<T: Real> Cotangent for [T] {
    type Zero = Vec<T>;
    fn zeros_like(&self) -> Vec<T> {
        vec![T::ZERO; self.len()]
    }
    fn reset(&self, adjoint: &mut Vec<T>) {
        refill(adjoint, self.len());
    }
}

impl<T: Real> Cotangent for Vec<T> {
    type Zero = Vec<T>;
    fn zeros_like(&self) -> Vec<T> {
        vec![T::ZERO; self.len()]
    }
    fn reset(&self, adjoint: &mut Vec<T>) {
        refill(adjoint, self.len());
    }
}

impl<T: Real, const N: usize> Cotangent for [T; N] {
    type Zero = [T; N];
    fn zeros_like(&self) -> [T; N] {
        [T::ZERO; N]
    }
    fn reset(&self, adjoint: &mut [T; N]) {
        *adjoint = [T::ZERO; N];
    }
}

impl<V: Cotangent + ?Sized> Cotangent for &V {
    type Zero = V::Zero;
    fn zeros_like(&self) -> V::Zero {
        (**self).zeros_like()
    }
    fn reset(&self, adjoint: &mut V::Zero) {
        (**self).reset(adjoint)
    }
}

/// A zero adjoint shaped like `v`.
#[inline]
pub fn zeros_like<V: Cotangent + ?Sized>(v: &V) -> V::Zero {
    v.zeros_like()
}

/// Sets a vector adjoint back to zeros shaped like `v` (an earlier value
/// of its variable starts afresh) without allocating: the reverse of a loop
/// that reassigns a vector does this once per iteration.
#[inline]
pub fn reset_like<V: Cotangent + ?Sized>(adjoint: &mut V::Zero, v: &V) {
    v.reset(adjoint);
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

/// `dst[i] += src[i] · by`: a callee's gradient, taken at cotangent 1 into a
/// scratch buffer, added to the caller's adjoint at the call's cotangent.
///
/// # Panics
/// If the lengths differ.
#[inline]
pub fn accumulate_scaled<T: Real>(dst: &mut [T], src: &[T], by: T) {
    assert_eq!(
        dst.len(),
        src.len(),
        "accumulate_scaled: adjoint of length {} and contribution of length {} differ",
        dst.len(),
        src.len()
    );
    for (d, s) in dst.iter_mut().zip(src) {
        *d += *s * by;
    }
}

/// `scratch`, emptied and refilled with zeros to `like`'s length: the buffer
/// a call site hands its callee for the gradient, reused on every call
/// instead of a fresh `Vec` per call.
#[inline]
pub fn zeroed_for<'a, T: Real, A: AsRef<[T]> + ?Sized>(
    scratch: &'a mut Vec<T>,
    like: &A,
) -> &'a mut [T] {
    let n = like.as_ref().len();
    scratch.clear();
    scratch.resize(n, T::ZERO);
    scratch
}

/// Where a callee's `f_vjp_into` puts a vector parameter's gradient: the
/// caller's adjoint (`&mut [T]`, added into in place), or `()` when the
/// caller's argument is a constant there and nothing wants that gradient.
///
/// A caller cannot see whether its callee differentiates a vector parameter
/// (`#[grad(wrt(...))]` may leave it out), so the destination of a constant
/// vector argument must fit either convention: the callee's parameter takes
/// any `VectorDst`, and `()` gets a zeroed scratch buffer to run into.
pub trait VectorDst<T: Real> {
    /// The adjoint to add the gradient into: `self`, or `scratch` zeroed to
    /// `like`'s length.
    fn slot<'a, A: AsRef<[T]> + ?Sized>(self, scratch: &'a mut Vec<T>, like: &A) -> &'a mut [T]
    where
        Self: 'a;

    /// `self[i] += src[i]` (nothing for `()`).
    fn add(self, src: &[T]);
}

impl<T: Real> VectorDst<T> for &mut [T] {
    #[inline]
    fn slot<'a, A: AsRef<[T]> + ?Sized>(self, _: &'a mut Vec<T>, _: &A) -> &'a mut [T]
    where
        Self: 'a,
    {
        self
    }

    #[inline]
    fn add(self, src: &[T]) {
        accumulate(self, src);
    }
}

impl<T: Real> VectorDst<T> for () {
    #[inline]
    fn slot<'a, A: AsRef<[T]> + ?Sized>(self, scratch: &'a mut Vec<T>, like: &A) -> &'a mut [T]
    where
        Self: 'a,
    {
        zeroed_for(scratch, like)
    }

    #[inline]
    fn add(self, _: &[T]) {}
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

/// A gradient that a scalar cotangent scales: what a caller does with a
/// callee's gradient computed at cotangent 1 once it knows the real one.
///
/// A function with a scalar result has a pullback linear in its cotangent,
/// `pullback(c) = c · pullback(1)`. A caller whose reverse runs in the same
/// scope as the call (at its top level, or in a loop whose reverse runs each
/// iteration) therefore calls the callee's value-and-gradient function once,
/// instead of the value in its forward pass and the pullback, which re-runs
/// the callee's forward pass, in its reverse.
pub trait Scale<T> {
    /// `self · by`.
    fn scale(self, by: T) -> Self;
}

impl<T: Real> Scale<T> for T {
    #[inline]
    fn scale(self, by: T) -> T {
        self * by
    }
}

impl<T: Real> Scale<T> for Vec<T> {
    #[inline]
    fn scale(mut self, by: T) -> Vec<T> {
        for e in &mut self {
            *e = *e * by;
        }
        self
    }
}

impl<T: Real, const N: usize> Scale<T> for [T; N] {
    #[inline]
    fn scale(mut self, by: T) -> [T; N] {
        for e in &mut self {
            *e = *e * by;
        }
        self
    }
}

impl Scale<f32> for crate::tensor::Tensor {
    fn scale(self, by: f32) -> Self {
        self.map(|x| x * by)
    }
}

/// `g · by` for a callee's gradient `g` (see [`Scale`]).
#[inline]
pub fn scale<G: Scale<T>, T>(g: G, by: T) -> G {
    g.scale(by)
}

#[cfg(test)]
mod tests {
    use super::scale;
    use crate::tensor::Tensor;

    #[test]
    fn scale_multiplies_every_kind_of_gradient() {
        assert_eq!(scale(1.5f64, -2.0), -3.0);
        assert_eq!(scale(1.5f32, 4.0), 6.0);
        assert_eq!(scale(vec![1.0, -2.0, 0.5], 2.0), vec![2.0, -4.0, 1.0]);
        assert_eq!(scale([1.0f32, 3.0], 0.5), [0.5, 1.5]);
        let t = scale(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]), -1.0);
        assert_eq!(t.data(), &[-1.0, -2.0, -3.0, -4.0]);
        assert_eq!(t.shape(), &[2, 2]);
    }
}
