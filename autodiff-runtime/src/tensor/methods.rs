//! Method forms of the free functions, so user code can chain
//! `x.matmul(&w1).relu()`.
//!
//! Each method only forwards to the free function of the same name, which stays
//! the single definition: `#[grad]` differentiates a method call through that
//! function's pullback, and the docs, panics and numerics are the function's.
//! Methods take `&self` (never consume), matching the free functions' borrows.

use super::{
    exp, flatten, leaky_relu, ln, log_softmax, matmul, maximum, mean, mean_axis, minimum, permute,
    powf, relu, reshape, sigmoid, softmax, sqr, sqrt, sum, sum_axis, tanh, transpose, Tensor,
};

/// Unary methods `fn name(&self) -> Tensor` forwarding to `super::name`.
macro_rules! unary_methods {
    ($($name:ident),* $(,)?) => {
        impl Tensor {
            $(
                #[doc = concat!("Same as [`", stringify!($name), "`]`(self)`.")]
                pub fn $name(&self) -> Tensor {
                    $name(self)
                }
            )*
        }
    };
}

unary_methods!(
    relu,
    sigmoid,
    tanh,
    exp,
    ln,
    sqrt,
    sqr,
    sum,
    mean,
    flatten,
    transpose,
    softmax,
    log_softmax,
);

impl Tensor {
    /// Same as [`matmul`]`(self, rhs)`.
    pub fn matmul(&self, rhs: &Tensor) -> Tensor {
        matmul(self, rhs)
    }

    /// Same as [`leaky_relu`]`(self, slope)`.
    pub fn leaky_relu(&self, slope: f32) -> Tensor {
        leaky_relu(self, slope)
    }

    /// Same as [`powf`]`(self, p)`.
    pub fn powf(&self, p: f32) -> Tensor {
        powf(self, p)
    }

    /// Same as [`sum_axis`]`(self, axis, keepdim)`.
    pub fn sum_axis(&self, axis: usize, keepdim: bool) -> Tensor {
        sum_axis(self, axis, keepdim)
    }

    /// Same as [`mean_axis`]`(self, axis, keepdim)`.
    pub fn mean_axis(&self, axis: usize, keepdim: bool) -> Tensor {
        mean_axis(self, axis, keepdim)
    }

    /// Same as [`reshape`]`(self, shape)`.
    pub fn reshape(&self, shape: &[usize]) -> Tensor {
        reshape(self, shape)
    }

    /// Same as [`permute`]`(self, perm)`.
    pub fn permute(&self, perm: &[usize]) -> Tensor {
        permute(self, perm)
    }

    /// Same as [`maximum`]`(self, other)`.
    pub fn maximum(&self, other: &Tensor) -> Tensor {
        maximum(self, other)
    }

    /// Same as [`minimum`]`(self, other)`.
    pub fn minimum(&self, other: &Tensor) -> Tensor {
        minimum(self, other)
    }
}
