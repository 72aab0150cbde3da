//! Compile-time reverse-mode automatic differentiation.
//!
//! Put `#[grad]` on an ordinary Rust function `f`; the macro keeps `f` as
//! written and adds `f_grad`, which returns the value and the exact gradient,
//! computed by a flat adjoint function generated at compile time (no tape, no
//! runtime graph). See the README for the supported subset.
//!
//! ```
//! use autodiff::{grad, sigmoid};
//!
//! #[grad]
//! fn neuron(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> f64 {
//!     let s0 = w0 * x0;
//!     let s1 = w1 * x1;
//!     let s2 = s0 + s1;
//!     let s3 = s2 + w2;
//!     sigmoid(s3)
//! }
//!
//! let (value, (g_w0, g_x0, g_w1, g_x1, g_w2)) = neuron_grad(2.0, -1.0, -3.0, -2.0, -3.0);
//! assert!((value - 0.7311).abs() < 1e-4);
//! assert!((g_w0 - -0.1966).abs() < 1e-4);
//! ```

// Lets generated `::autodiff::...` paths resolve inside this crate's own tests.
extern crate self as autodiff;

pub mod math;

pub use autodiff_macros::{custom_grad, grad};
pub use autodiff_runtime as runtime;
pub use autodiff_runtime::check;
pub use autodiff_runtime::{relu, sigmoid, softplus, stop_gradient, Real};

/// Support code for generated functions; not a stable API.
#[doc(hidden)]
pub mod __rt {
    pub use autodiff_runtime::cotangent::{
        accumulate, accumulate_scaled, add_to_all, reset_like, scale, sum, zeroed_for, zeros_like,
        VectorDst,
    };
    pub use autodiff_runtime::rules::*;
    pub use autodiff_runtime::tape::{push_reserved, Tape};
    pub use autodiff_runtime::tensor;
    pub use autodiff_runtime::view::{
        view_covers, view_index, view_len, view_len_from, view_len_inclusive,
    };
    pub use autodiff_runtime::window::{window, window_mut};
    pub use autodiff_runtime::{relu, sigmoid, softplus};
}
