pub use autodiff_macros::grad;
pub use autodiff_runtime as runtime;
