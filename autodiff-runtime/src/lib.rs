//! Runtime support for `#[grad]`.
//!
//! - [`tensor`]: dense `f32` tensors, differentiable operations each paired with a
//!   `*_pullback` function (the convention is documented there), optimizers and
//!   initialisers.

pub mod tensor;

pub fn placeholder() {}
