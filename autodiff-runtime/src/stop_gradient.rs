//! A value the derivative does not pass through.

/// Returns `x`; inside a `#[grad]` body its derivative is zero, as with
/// JAX's `lax.stop_gradient` or PyTorch's `detach`.
///
/// For a quantity that changes how a value is computed but not the value:
/// the shift of a stable `logsumexp` (`ln Σ exp(x − m) + m` is the same for
/// every `m`, so its derivative in `m` is zero, and the gradient code need
/// not keep or replay how `m` was found), a target held fixed while another
/// value moves towards it, a straight-through estimator. Where the value
/// does depend on the quantity, the gradient leaves that dependence out, by
/// design. Outside `#[grad]` it is the identity.
///
/// With `#[grad] fn f(x: f64) -> f64 { stop_gradient(x) * x }`, `f_grad(3.0)`
/// is `(9.0, 3.0)`: the first factor is held, so the derivative is 3, not 6
/// (`tests/stop_gradient.rs`).
///
/// ```
/// assert_eq!(autodiff_runtime::stop_gradient(3.0), 3.0);
/// ```
#[inline(always)]
pub fn stop_gradient<T>(x: T) -> T {
    x
}
