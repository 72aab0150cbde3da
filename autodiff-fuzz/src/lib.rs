//! Differential testing of `#[grad]`: a seeded generator of random programs
//! over the supported subset, whose `f_grad` is checked against central
//! finite differences by `tests/differential.rs`. See the README.

pub mod gen;

pub use gen::{generate, Program, Rng};
