//! Runtime support for `#[grad]`:
//!
//! - [`real`], [`rules`], [`activations`]: the scalar trait and derivative
//!   helpers that generated adjoint code calls, and the activation functions
//!   the macro knows by name;
//! - [`stop_gradient`](mod@stop_gradient): the identity whose derivative is
//!   zero;
//! - [`check`]: the numerical gradient checker;
//! - [`tape`]: the pooled tapes the backward pass of a loop keeps values on;
//! - [`window`]: the slices a generated loop indexes without bounds checks;
//! - [`view`]: the bounds checks of a sub-slice binding (`let r = &x[a..b]`),
//!   whose reads the generated code makes into reads of `x`;
//! - [`tensor`]: dense `f32` tensors, differentiable operations each paired
//!   with a `*_pullback` function (the convention is documented there),
//!   optimizers and initialisers.

pub mod activations;
pub mod check;
pub mod cotangent;
pub mod real;
pub mod rules;
pub mod stop_gradient;
pub mod tape;
pub mod tensor;
pub mod view;
pub mod window;

pub use activations::{relu, sigmoid, softplus};
pub use real::Real;
pub use stop_gradient::stop_gradient;
