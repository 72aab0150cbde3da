//! Runtime support for `#[grad]`: the scalar trait and derivative helpers that
//! generated adjoint code calls, the activation functions the macro knows by
//! name, and the numerical gradient checker.

pub mod activations;
pub mod check;
pub mod real;
pub mod rules;

pub use activations::{relu, sigmoid, softplus};
pub use real::Real;
