//! Dense `f32` tensors and the differentiable operations `#[grad]` emits calls to.
//!
//! # The tensor
//!
//! A [`Tensor`] owns a contiguous row-major `Vec<f32>` and a shape of rank 0 to 4
//! (images are NCHW). There are no views, strides or shared buffers: the adjoint
//! code the macro generates moves and clones values like any other Rust value, and
//! a tensor that can never alias another keeps that code free of surprises.
//!
//! Ownership rules:
//! - `Clone` is a deep copy of the buffer. Clones are independent.
//! - Every operation takes its inputs by reference and returns a fresh tensor; the
//!   inputs are never modified. The owned operator forms (`a + b` on values) may
//!   reuse an input's buffer, which is unobservable because the input was moved.
//! - `+=` ([`AddAssign`](std::ops::AddAssign)) is the one in-place update, used
//!   to accumulate gradients of a value that is read more than once.
//!
//! # The pullback convention
//!
//! Every differentiable operation `foo(a, b, ..) -> y` comes with
//!
//! ```text
//! foo_pullback(a, b, .., &y, &grad_y) -> (grad_a, grad_b, ..)
//! ```
//!
//! - it takes the forward arguments unchanged and in the same order, then the
//!   forward output `y` and the upstream gradient `grad_y` (same shape as `y`);
//! - it returns one gradient per *differentiable* argument, in argument order, as a
//!   tuple, or bare when there is only one. Tensor arguments get a tensor of their
//!   own shape, differentiable `f32` arguments (as in [`mul_scalar`]) get an `f32`;
//! - non-differentiable arguments (class labels `&[usize]`, [`Conv2dParams`],
//!   [`Pool2dParams`], axes, and hyper-parameters such as the [`leaky_relu`] slope
//!   or the [`powf`] exponent) get no entry; each function's docs say which these are;
//! - the pullback is a vector-Jacobian product: no Jacobian is ever formed
//!   (for `y = x·w`: `dx = dy·wᵀ`, `dw = xᵀ·dy`);
//! - the returned gradients are fresh tensors the caller owns, ready for `+=`.
//!
//! Where one argument's gradient costs real work that is wasted when only the
//! other's is needed (a data input needs none), there are also per-argument
//! pullbacks. They take exactly the joint pullback's arguments and return one
//! gradient, bit-identical to the joint pullback's component:
//!
//! - [`matmul_pullback_lhs`] / [`matmul_pullback_rhs`] (each skips a GEMM);
//! - [`conv2d_pullback_input`] / [`conv2d_pullback_weight`] /
//!   [`conv2d_pullback_bias`] (the last panics when `bias` is `None`);
//! - `{add, sub, mul, div, maximum, minimum}_pullback_lhs` / `_rhs`.
//!
//! Reductions and losses return rank-0 tensors, so `grad_y` for them is a rank-0
//! tensor too ([`Tensor::scalar`]`(1.0)` to start backpropagation).
//!
//! # Shape errors
//!
//! Shape mismatches are programming errors and panic with a message that names the
//! operation and every shape involved, e.g.
//! `matmul: [64, 100] x [10, 100]: inner dimensions 100 and 10 differ`.
//! Each function lists its panics under `# Panics`.
//!
//! # Threads
//!
//! Kernels that benefit from parallelism (matmul, conv, pooling, elementwise ops
//! on large tensors) use a rayon pool whose size is set by [`set_num_threads`]
//! or scoped with [`with_threads`]; the same count is handed to the GEMM kernels
//! so one setting governs everything. Matrix products too small to gain from a
//! second thread run on one whatever the setting.

mod adjoint;
mod buffer;
mod conv;
mod elementwise;
mod init;
mod layout;
mod loss;
mod matmul;
mod methods;
mod ops;
pub mod optim;
mod pool;
mod reduce;
mod threads;

#[cfg(feature = "ndarray")]
mod interop;

pub use adjoint::item_pullback;
pub use conv::{
    conv2d, conv2d_output_size, conv2d_pullback, conv2d_pullback_bias, conv2d_pullback_input,
    conv2d_pullback_weight, Conv2dParams,
};
pub use elementwise::{
    add, add_pullback, add_pullback_lhs, add_pullback_rhs, add_scalar, add_scalar_pullback, div,
    div_pullback, div_pullback_lhs, div_pullback_rhs, div_scalar, div_scalar_pullback, exp,
    exp_pullback, leaky_relu, leaky_relu_pullback, ln, ln_pullback, maximum, maximum_pullback,
    maximum_pullback_lhs, maximum_pullback_rhs, minimum, minimum_pullback, minimum_pullback_lhs,
    minimum_pullback_rhs, mul, mul_pullback, mul_pullback_lhs, mul_pullback_rhs, mul_scalar,
    mul_scalar_pullback, neg, neg_pullback, powf, powf_pullback, relu, relu_pullback, scalar_div,
    scalar_div_pullback, scalar_sub, scalar_sub_pullback, sigmoid, sigmoid_pullback, sqr,
    sqr_pullback, sqrt, sqrt_pullback, sub, sub_pullback, sub_pullback_lhs, sub_pullback_rhs,
    sub_scalar, sub_scalar_pullback, sum_to_shape, tanh, tanh_pullback,
};
pub use init::{kaiming_normal, rand_uniform, randn, xavier_uniform, Rng};
pub use layout::{
    flatten, flatten_pullback, permute, permute_pullback, reshape, reshape_pullback, transpose,
    transpose_pullback,
};
pub use loss::{
    l2, l2_pullback, log_softmax, log_softmax_pullback, mse, mse_pullback, multiclass_hinge,
    multiclass_hinge_pullback, softmax, softmax_cross_entropy, softmax_cross_entropy_pullback,
    softmax_pullback,
};
pub use matmul::{matmul, matmul_pullback, matmul_pullback_lhs, matmul_pullback_rhs};
pub use pool::{
    avg_pool2d, avg_pool2d_pullback, max_pool2d, max_pool2d_pullback, pool2d_output_size,
    Pool2dParams,
};
pub use reduce::{
    mean, mean_axis, mean_axis_pullback, mean_pullback, sum, sum_axis, sum_axis_pullback,
    sum_pullback,
};
pub use threads::{num_threads, set_num_threads, with_threads};

use std::fmt;

/// Highest rank a [`Tensor`] may have; NCHW images need four.
pub const MAX_RANK: usize = 4;

/// A dense, owned, row-major `f32` tensor of rank 0 to [`MAX_RANK`].
///
/// See the [module documentation](self) for the ownership rules.
#[derive(Clone, PartialEq)]
pub struct Tensor {
    data: Vec<f32>,
    shape: Vec<usize>,
}

/// Number of elements of a shape (1 for rank 0).
///
/// # Panics
/// If the count overflows `usize`: a wrapped count would make buffers smaller
/// than their shapes claim.
pub(crate) fn shape_numel(shape: &[usize]) -> usize {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .unwrap_or_else(|| panic!("shape {shape:?} has more elements than usize can count"))
}

pub(crate) fn check_rank(op: &str, shape: &[usize]) {
    assert!(
        shape.len() <= MAX_RANK,
        "{op}: shape {shape:?} has rank {}, at most {MAX_RANK} is supported",
        shape.len()
    );
}

impl Tensor {
    /// Wraps `data` (row-major) as a tensor of `shape`.
    ///
    /// # Panics
    /// If `data.len()` differs from the product of `shape`, or the rank exceeds 4.
    pub fn from_vec(data: Vec<f32>, shape: &[usize]) -> Tensor {
        check_rank("from_vec", shape);
        let n = shape_numel(shape);
        assert!(
            data.len() == n,
            "from_vec: data of length {} does not fit shape {shape:?} ({n} elements)",
            data.len()
        );
        Tensor {
            data,
            shape: shape.to_vec(),
        }
    }

    /// A tensor of `shape` filled with `value`.
    ///
    /// # Panics
    /// If the rank exceeds 4.
    pub fn full(shape: &[usize], value: f32) -> Tensor {
        Tensor::filled("full", shape, value)
    }

    fn filled(op: &str, shape: &[usize], value: f32) -> Tensor {
        check_rank(op, shape);
        Tensor {
            data: vec![value; shape_numel(shape)],
            shape: shape.to_vec(),
        }
    }

    /// All zeros; the starting value of every gradient accumulator.
    ///
    /// # Panics
    /// If the rank exceeds 4.
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::filled("zeros", shape, 0.0)
    }

    /// All ones.
    ///
    /// # Panics
    /// If the rank exceeds 4.
    pub fn ones(shape: &[usize]) -> Tensor {
        Tensor::filled("ones", shape, 1.0)
    }

    /// Zeros of the same shape as `other`, for gradient accumulators.
    pub fn zeros_like(other: &Tensor) -> Tensor {
        Tensor::zeros(&other.shape)
    }

    /// A rank-0 tensor; losses return these and backpropagation starts from
    /// `Tensor::scalar(1.0)`.
    pub fn scalar(value: f32) -> Tensor {
        Tensor {
            data: vec![value],
            shape: Vec::new(),
        }
    }

    /// The shape, outermost dimension first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of dimensions (0 for a scalar).
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements (1 for a scalar).
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The elements in row-major order, writable; the shape cannot change.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// A copy of the elements in row-major order.
    pub fn to_vec(&self) -> Vec<f32> {
        self.data.clone()
    }

    /// Gives up the buffer without copying.
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    /// Row-major offset of a multi-index.
    ///
    /// # Panics
    /// If `index` has the wrong length or any coordinate is out of range.
    pub fn offset(&self, index: &[usize]) -> usize {
        assert!(
            index.len() == self.shape.len(),
            "at: index {index:?} has {} coordinates but the tensor has shape {:?}",
            index.len(),
            self.shape
        );
        let mut off = 0;
        for (&i, &d) in index.iter().zip(&self.shape) {
            assert!(
                i < d,
                "at: index {index:?} out of bounds for shape {:?}",
                self.shape
            );
            off = off * d + i;
        }
        off
    }

    /// The element at a multi-index, e.g. `t.at(&[n, c, h, w])`.
    ///
    /// # Panics
    /// If `index` has the wrong length or any coordinate is out of range.
    pub fn at(&self, index: &[usize]) -> f32 {
        self.data[self.offset(index)]
    }

    /// The single value of a one-element tensor (a loss, typically).
    ///
    /// # Panics
    /// If the tensor does not have exactly one element.
    pub fn item(&self) -> f32 {
        assert!(
            self.data.len() == 1,
            "item: tensor of shape {:?} has {} elements, expected 1",
            self.shape,
            self.data.len()
        );
        self.data[0]
    }

    /// Applies `f` to every element; a building block for ops without a pullback here.
    pub fn map(&self, f: impl Fn(f32) -> f32) -> Tensor {
        Tensor {
            data: self.data.iter().map(|&x| f(x)).collect(),
            shape: self.shape.clone(),
        }
    }

    /// Largest absolute elementwise difference, for tests and diagnostics.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn max_abs_diff(&self, other: &Tensor) -> f32 {
        assert!(
            self.shape == other.shape,
            "max_abs_diff: shapes {:?} and {:?} differ",
            self.shape,
            other.shape
        );
        self.data
            .iter()
            .zip(&other.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max)
    }

    /// numpy's `allclose`: same shape and `|a - b| <= atol + rtol * |b|` everywhere.
    /// NaNs never compare close.
    pub fn allclose(&self, other: &Tensor, rtol: f32, atol: f32) -> bool {
        self.shape == other.shape
            && self
                .data
                .iter()
                .zip(&other.data)
                .all(|(a, b)| (a - b).abs() <= atol + rtol * b.abs())
    }
}

impl approx::AbsDiffEq for Tensor {
    type Epsilon = f32;
    fn default_epsilon() -> f32 {
        f32::EPSILON
    }
    fn abs_diff_eq(&self, other: &Tensor, epsilon: f32) -> bool {
        self.shape == other.shape
            && self
                .data
                .iter()
                .zip(&other.data)
                .all(|(a, b)| a.abs_diff_eq(b, epsilon))
    }
}

impl approx::RelativeEq for Tensor {
    fn default_max_relative() -> f32 {
        f32::EPSILON
    }
    fn relative_eq(&self, other: &Tensor, epsilon: f32, max_relative: f32) -> bool {
        self.shape == other.shape
            && self
                .data
                .iter()
                .zip(&other.data)
                .all(|(a, b)| a.relative_eq(b, epsilon, max_relative))
    }
}

/// Tensors with more elements than this print summarised (first and last 3 per axis).
const DISPLAY_THRESHOLD: usize = 1000;
const DISPLAY_EDGE: usize = 3;

fn fmt_block(
    f: &mut fmt::Formatter<'_>,
    data: &[f32],
    shape: &[usize],
    depth: usize,
    summarise: bool,
) -> fmt::Result {
    if shape.is_empty() {
        return match f.precision() {
            Some(p) => write!(f, "{:.*}", p, data[0]),
            None => write!(f, "{}", data[0]),
        };
    }
    let n = shape[0];
    let inner: usize = shape_numel(&shape[1..]);
    write!(f, "[")?;
    let skip = summarise && n > 2 * DISPLAY_EDGE;
    let mut first = true;
    for i in 0..n {
        if skip && i == DISPLAY_EDGE {
            if shape.len() == 1 {
                write!(f, ", ...")?;
            } else {
                write!(f, ",\n{:width$}...", "", width = depth + 1)?;
            }
        }
        if skip && i >= DISPLAY_EDGE && i < n - DISPLAY_EDGE {
            continue;
        }
        if !first {
            if shape.len() == 1 {
                write!(f, ", ")?;
            } else {
                write!(f, ",")?;
                for _ in 1..shape.len() {
                    writeln!(f)?;
                }
                write!(f, "{:width$}", "", width = depth + 1)?;
            }
        }
        first = false;
        fmt_block(
            f,
            &data[i * inner..(i + 1) * inner],
            &shape[1..],
            depth + 1,
            summarise,
        )?;
    }
    write!(f, "]")
}

/// Prints the shape, then the values nested numpy-style, summarising tensors with
/// more than 1000 elements (first and last 3 entries per axis) so logs stay
/// readable. Values use the shortest exact form unless a precision is given:
/// `format!("{t:.3}")`.
impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Tensor(shape {:?})", self.shape)?;
        let summarise = self.data.len() > DISPLAY_THRESHOLD;
        if self.data.is_empty() {
            return write!(f, "[]");
        }
        fmt_block(f, &self.data, &self.shape, 0, summarise)
    }
}

/// Same as `Display`; a derived `Debug` would dump every element of big tensors.
impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
