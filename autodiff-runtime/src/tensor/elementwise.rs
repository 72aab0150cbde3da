//! Elementwise operations, numpy-style broadcasting, and their pullbacks.
//!
//! Binary tensor ops broadcast like numpy: shapes are right-aligned and each pair
//! of dimensions must be equal or contain a 1 (so `[N, D] + [D]` adds a bias and
//! `[N, C, H, W] + [1, C, 1, 1]` adds a per-channel one). Their pullbacks first
//! form the gradient at the broadcast output shape and then fold it back onto each
//! operand with [`sum_to_shape`], because a broadcast input was read once per copy.

use std::borrow::Cow;

use super::buffer::{map_par, zip_par};
use super::{shape_numel, Tensor, MAX_RANK};

/// Broadcast result shape of `a` and `b`.
pub(crate) fn broadcast_shape(op: &str, a: &[usize], b: &[usize]) -> Vec<usize> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            panic!(
                "{op}: shapes {a:?} and {b:?} cannot be broadcast together \
                 (dimension {da} vs {db})"
            );
        };
    }
    out
}

/// `shape` left-padded with ones to rank 4.
fn pad4(shape: &[usize]) -> [usize; MAX_RANK] {
    let mut p = [1; MAX_RANK];
    p[MAX_RANK - shape.len()..].copy_from_slice(shape);
    p
}

/// Row-major strides of `shape` seen from the rank-4 padded `out` shape, with 0
/// for every broadcast (size-1) dimension so repeated reads hit the same element.
fn bstrides(shape: &[usize]) -> [usize; MAX_RANK] {
    let p = pad4(shape);
    let mut s = [0; MAX_RANK];
    let mut acc = 1;
    for i in (0..MAX_RANK).rev() {
        s[i] = if p[i] == 1 { 0 } else { acc };
        acc *= p[i];
    }
    s
}

/// `f(a, b)` elementwise over the broadcast shape.
pub(crate) fn broadcast_zip(
    op: &str,
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(f32, f32) -> f32 + Sync,
) -> Tensor {
    if a.shape == b.shape {
        let data = zip_par(&a.data, &b.data, f);
        return Tensor {
            data,
            shape: a.shape.clone(),
        };
    }
    let out_shape = broadcast_shape(op, &a.shape, &b.shape);
    let o = pad4(&out_shape);
    let (sa, sb) = (bstrides(&a.shape), bstrides(&b.shape));
    let mut data = Vec::with_capacity(shape_numel(&out_shape));
    for i0 in 0..o[0] {
        for i1 in 0..o[1] {
            for i2 in 0..o[2] {
                let ba = i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
                let bb = i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
                for i3 in 0..o[3] {
                    data.push(f(a.data[ba + i3 * sa[3]], b.data[bb + i3 * sb[3]]));
                }
            }
        }
    }
    Tensor {
        data,
        shape: out_shape,
    }
}

/// `t` broadcast (copied) to `shape`, which must be a broadcast of `t.shape`.
pub(crate) fn expand(op: &str, t: &Tensor, shape: &[usize]) -> Tensor {
    let out = broadcast_shape(op, &t.shape, shape);
    assert!(
        out == shape,
        "{op}: shape {:?} cannot be broadcast to {shape:?}",
        t.shape
    );
    if t.shape == shape {
        return t.clone();
    }
    broadcast_zip(op, t, &Tensor::zeros(shape), |x, _| x)
}

fn zip_same(op: &str, a: &Tensor, b: &Tensor, f: impl Fn(f32, f32) -> f32 + Sync) -> Tensor {
    assert!(
        a.shape == b.shape,
        "{op}: shapes {:?} and {:?} must be equal",
        a.shape,
        b.shape
    );
    broadcast_zip(op, a, b, f)
}

/// Reduces a gradient computed at a broadcast shape back onto an operand of
/// `shape`, summing over the dimensions that broadcasting created or stretched.
///
/// # Panics
/// If `shape` does not broadcast to `grad.shape()`.
pub fn sum_to_shape(grad: &Tensor, shape: &[usize]) -> Tensor {
    if grad.shape == shape {
        return grad.clone();
    }
    let ok = shape.len() <= grad.shape.len()
        && broadcast_shape("sum_to_shape", shape, &grad.shape) == grad.shape;
    assert!(
        ok,
        "sum_to_shape: gradient of shape {:?} cannot be reduced to shape {shape:?}",
        grad.shape
    );
    let o = pad4(&grad.shape);
    let s = bstrides(shape);
    // Accumulate in f64: a bias gradient can sum tens of thousands of terms.
    let mut acc = vec![0f64; shape_numel(shape)];
    let mut k = 0;
    for i0 in 0..o[0] {
        for i1 in 0..o[1] {
            for i2 in 0..o[2] {
                let base = i0 * s[0] + i1 * s[1] + i2 * s[2];
                for i3 in 0..o[3] {
                    acc[base + i3 * s[3]] += grad.data[k] as f64;
                    k += 1;
                }
            }
        }
    }
    Tensor {
        data: acc.into_iter().map(|x| x as f32).collect(),
        shape: shape.to_vec(),
    }
}

/// [`sum_to_shape`] for a gradient the caller no longer needs: when no reduction
/// is needed the buffer is handed back instead of copied.
fn reduce_owned(grad: Tensor, shape: &[usize]) -> Tensor {
    if grad.shape == shape {
        grad
    } else {
        sum_to_shape(&grad, shape)
    }
}

fn sum_f64(t: &Tensor) -> f32 {
    t.data.iter().map(|&x| x as f64).sum::<f64>() as f32
}

fn dot_f64(a: &Tensor, b: &Tensor) -> f32 {
    a.data
        .iter()
        .zip(&b.data)
        .map(|(&x, &y)| x as f64 * y as f64)
        .sum::<f64>() as f32
}

// ---------------------------------------------------------------- binary ops

/// `a + b` with broadcasting.
///
/// # Panics
/// If the shapes cannot be broadcast together.
pub fn add(a: &Tensor, b: &Tensor) -> Tensor {
    broadcast_zip("add", a, b, |x, y| x + y)
}

/// Returns `(grad_a, grad_b)`.
pub fn add_pullback(a: &Tensor, b: &Tensor, y: &Tensor, grad_y: &Tensor) -> (Tensor, Tensor) {
    (
        add_pullback_lhs(a, b, y, grad_y),
        add_pullback_rhs(a, b, y, grad_y),
    )
}

/// Returns `grad_a` only (see [`add_pullback`]): a copy of `grad_y`, summed over
/// the dimensions `a` was broadcast along.
pub fn add_pullback_lhs(a: &Tensor, _b: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    sum_to_shape(grad_y, &a.shape)
}

/// Returns `grad_b` only (see [`add_pullback`]).
pub fn add_pullback_rhs(_a: &Tensor, b: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    sum_to_shape(grad_y, &b.shape)
}

/// `a - b` with broadcasting.
///
/// # Panics
/// If the shapes cannot be broadcast together.
pub fn sub(a: &Tensor, b: &Tensor) -> Tensor {
    broadcast_zip("sub", a, b, |x, y| x - y)
}

/// Returns `(grad_a, grad_b)`.
pub fn sub_pullback(a: &Tensor, b: &Tensor, y: &Tensor, grad_y: &Tensor) -> (Tensor, Tensor) {
    (
        sub_pullback_lhs(a, b, y, grad_y),
        sub_pullback_rhs(a, b, y, grad_y),
    )
}

/// Returns `grad_a` only (see [`sub_pullback`]).
pub fn sub_pullback_lhs(a: &Tensor, _b: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    sum_to_shape(grad_y, &a.shape)
}

/// Returns `grad_b` only (see [`sub_pullback`]).
pub fn sub_pullback_rhs(_a: &Tensor, b: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    // Negating after the reduction touches fewer elements and gives the same
    // bits: negation is exact and rounding is symmetric.
    let mut gb = sum_to_shape(grad_y, &b.shape);
    gb.data.iter_mut().for_each(|v| *v = -*v);
    gb
}

/// `a * b` elementwise with broadcasting (not a matrix product; see [`matmul`](super::matmul)).
///
/// # Panics
/// If the shapes cannot be broadcast together.
pub fn mul(a: &Tensor, b: &Tensor) -> Tensor {
    broadcast_zip("mul", a, b, |x, y| x * y)
}

/// Returns `(grad_a, grad_b)`.
pub fn mul_pullback(a: &Tensor, b: &Tensor, y: &Tensor, grad_y: &Tensor) -> (Tensor, Tensor) {
    (
        mul_pullback_lhs(a, b, y, grad_y),
        mul_pullback_rhs(a, b, y, grad_y),
    )
}

/// Returns `grad_a = sum_to_shape(grad_y * b)` only (see [`mul_pullback`]).
pub fn mul_pullback_lhs(a: &Tensor, b: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    let ga = broadcast_zip("mul_pullback", grad_y, b, |g, y| g * y);
    reduce_owned(ga, &a.shape)
}

/// Returns `grad_b = sum_to_shape(grad_y * a)` only (see [`mul_pullback`]).
pub fn mul_pullback_rhs(a: &Tensor, b: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    let gb = broadcast_zip("mul_pullback", grad_y, a, |g, x| g * x);
    reduce_owned(gb, &b.shape)
}

/// `a / b` elementwise with broadcasting (IEEE semantics: `x / 0` is ±inf or NaN).
///
/// # Panics
/// If the shapes cannot be broadcast together.
pub fn div(a: &Tensor, b: &Tensor) -> Tensor {
    broadcast_zip("div", a, b, |x, y| x / y)
}

/// Returns `(grad_a, grad_b)`; uses `d(a/b)/db = -y/b`.
pub fn div_pullback(a: &Tensor, b: &Tensor, y: &Tensor, grad_y: &Tensor) -> (Tensor, Tensor) {
    (
        div_pullback_lhs(a, b, y, grad_y),
        div_pullback_rhs(a, b, y, grad_y),
    )
}

/// Returns `grad_a = sum_to_shape(grad_y / b)` only (see [`div_pullback`]).
pub fn div_pullback_lhs(a: &Tensor, b: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    let ga = broadcast_zip("div_pullback", grad_y, b, |g, d| g / d);
    reduce_owned(ga, &a.shape)
}

/// Returns `grad_b = sum_to_shape(-grad_y * y / b)` only (see [`div_pullback`]).
pub fn div_pullback_rhs(_a: &Tensor, b: &Tensor, y: &Tensor, grad_y: &Tensor) -> Tensor {
    let gy = zip_same("div_pullback", grad_y, y, |g, q| g * q);
    let gb = broadcast_zip("div_pullback", &gy, b, |t, d| -t / d);
    reduce_owned(gb, &b.shape)
}

/// Elementwise maximum with broadcasting. On ties the gradient is split evenly
/// between the two arguments, as PyTorch's `maximum` and the scalar rule of
/// `#[grad]` do ([`crate::rules::max_share`]).
///
/// # Panics
/// If the shapes cannot be broadcast together.
pub fn maximum(a: &Tensor, b: &Tensor) -> Tensor {
    broadcast_zip("maximum", a, b, |x, y| if x >= y { x } else { y })
}

/// Returns `(grad_a, grad_b)`; ties split evenly.
pub fn maximum_pullback(a: &Tensor, b: &Tensor, y: &Tensor, grad_y: &Tensor) -> (Tensor, Tensor) {
    (
        maximum_pullback_lhs(a, b, y, grad_y),
        maximum_pullback_rhs(a, b, y, grad_y),
    )
}

/// Returns `grad_a` only (see [`maximum_pullback`]).
pub fn maximum_pullback_lhs(a: &Tensor, b: &Tensor, y: &Tensor, grad_y: &Tensor) -> Tensor {
    route("maximum_pullback", a, b, y, grad_y, crate::rules::max_share)
}

/// Returns `grad_b` only (see [`maximum_pullback`]).
pub fn maximum_pullback_rhs(a: &Tensor, b: &Tensor, y: &Tensor, grad_y: &Tensor) -> Tensor {
    route("maximum_pullback", b, a, y, grad_y, crate::rules::max_share)
}

/// Elementwise minimum with broadcasting. On ties the gradient is split evenly
/// ([`crate::rules::min_share`]).
///
/// # Panics
/// If the shapes cannot be broadcast together.
pub fn minimum(a: &Tensor, b: &Tensor) -> Tensor {
    broadcast_zip("minimum", a, b, |x, y| if x <= y { x } else { y })
}

/// Returns `(grad_a, grad_b)`; ties split evenly.
pub fn minimum_pullback(a: &Tensor, b: &Tensor, y: &Tensor, grad_y: &Tensor) -> (Tensor, Tensor) {
    (
        minimum_pullback_lhs(a, b, y, grad_y),
        minimum_pullback_rhs(a, b, y, grad_y),
    )
}

/// Returns `grad_a` only (see [`minimum_pullback`]).
pub fn minimum_pullback_lhs(a: &Tensor, b: &Tensor, y: &Tensor, grad_y: &Tensor) -> Tensor {
    route("minimum_pullback", a, b, y, grad_y, crate::rules::min_share)
}

/// Returns `grad_b` only (see [`minimum_pullback`]).
pub fn minimum_pullback_rhs(a: &Tensor, b: &Tensor, y: &Tensor, grad_y: &Tensor) -> Tensor {
    route("minimum_pullback", b, a, y, grad_y, crate::rules::min_share)
}

/// `t` at `shape`, borrowed when it already has it.
fn expanded<'a>(op: &str, t: &'a Tensor, shape: &[usize]) -> Cow<'a, Tensor> {
    if t.shape == shape {
        Cow::Borrowed(t)
    } else {
        Cow::Owned(expand(op, t, shape))
    }
}

/// Gradient of `this` in `maximum`/`minimum(this, other)` (either argument
/// order, since the rules are symmetric): `grad_y * share(this, other)`,
/// summed back to `this`'s shape.
fn route(
    op: &str,
    this: &Tensor,
    other: &Tensor,
    y: &Tensor,
    grad_y: &Tensor,
    share: impl Fn(f32, f32) -> f32,
) -> Tensor {
    let e_this = expanded(op, this, &y.shape);
    let e_other = expanded(op, other, &y.shape);
    assert!(
        grad_y.shape == y.shape,
        "{op}: grad_y has shape {:?}, expected {:?}",
        grad_y.shape,
        y.shape
    );
    let data = grad_y
        .data
        .iter()
        .zip(e_this.data.iter().zip(&e_other.data))
        .map(|(&g, (&x, &z))| g * share(x, z))
        .collect();
    let g = Tensor {
        data,
        shape: y.shape.clone(),
    };
    reduce_owned(g, &this.shape)
}

// ---------------------------------------------------------------- scalar ops

/// `a + s` for a scalar `s`; `s` is differentiable.
pub fn add_scalar(a: &Tensor, s: f32) -> Tensor {
    unary(a, |x| x + s)
}

/// Returns `(grad_a, grad_s)`.
pub fn add_scalar_pullback(_a: &Tensor, _s: f32, _y: &Tensor, grad_y: &Tensor) -> (Tensor, f32) {
    (grad_y.clone(), sum_f64(grad_y))
}

/// `a - s` for a scalar `s`; `s` is differentiable.
pub fn sub_scalar(a: &Tensor, s: f32) -> Tensor {
    unary(a, |x| x - s)
}

/// Returns `(grad_a, grad_s)`.
pub fn sub_scalar_pullback(_a: &Tensor, _s: f32, _y: &Tensor, grad_y: &Tensor) -> (Tensor, f32) {
    (grad_y.clone(), -sum_f64(grad_y))
}

/// `s - a` for a scalar `s`; `s` is differentiable.
pub fn scalar_sub(s: f32, a: &Tensor) -> Tensor {
    unary(a, |x| s - x)
}

/// Returns `(grad_s, grad_a)`, in argument order.
pub fn scalar_sub_pullback(_s: f32, _a: &Tensor, _y: &Tensor, grad_y: &Tensor) -> (f32, Tensor) {
    (sum_f64(grad_y), unary(grad_y, |g| -g))
}

/// `a * s` for a scalar `s`; `s` is differentiable.
pub fn mul_scalar(a: &Tensor, s: f32) -> Tensor {
    unary(a, |x| x * s)
}

/// Returns `(grad_a, grad_s)`.
pub fn mul_scalar_pullback(a: &Tensor, s: f32, _y: &Tensor, grad_y: &Tensor) -> (Tensor, f32) {
    (unary(grad_y, |g| g * s), dot_f64(grad_y, a))
}

/// `a / s` for a scalar `s`; `s` is differentiable.
pub fn div_scalar(a: &Tensor, s: f32) -> Tensor {
    unary(a, |x| x / s)
}

/// Returns `(grad_a, grad_s)`.
pub fn div_scalar_pullback(_a: &Tensor, s: f32, y: &Tensor, grad_y: &Tensor) -> (Tensor, f32) {
    (unary(grad_y, |g| g / s), -dot_f64(grad_y, y) / s)
}

/// `s / a` for a scalar `s`; `s` is differentiable.
pub fn scalar_div(s: f32, a: &Tensor) -> Tensor {
    unary(a, |x| s / x)
}

/// Returns `(grad_s, grad_a)`, in argument order.
pub fn scalar_div_pullback(_s: f32, a: &Tensor, y: &Tensor, grad_y: &Tensor) -> (f32, Tensor) {
    let gs = grad_y
        .data
        .iter()
        .zip(&a.data)
        .map(|(&g, &x)| g as f64 / x as f64)
        .sum::<f64>() as f32;
    let ga = zip_same("scalar_div_pullback", grad_y, y, |g, q| g * q);
    (gs, zip_same("scalar_div_pullback", &ga, a, |t, x| -t / x))
}

// ---------------------------------------------------------------- unary ops

fn unary_pullback(
    op: &str,
    x: &Tensor,
    grad_y: &Tensor,
    f: impl Fn(f32, f32) -> f32 + Sync,
) -> Tensor {
    // f(grad, x) -> grad_x
    zip_same(op, grad_y, x, f)
}

/// `-a`.
pub fn neg(a: &Tensor) -> Tensor {
    unary(a, |x| -x)
}

/// Returns `grad_a`.
pub fn neg_pullback(_a: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    unary(grad_y, |g| -g)
}

/// `e^a`.
pub fn exp(a: &Tensor) -> Tensor {
    unary(a, f32::exp)
}

/// Returns `grad_a`; reuses `y = e^a`.
///
/// # Panics
/// If `y` and `grad_y` differ in shape.
pub fn exp_pullback(_a: &Tensor, y: &Tensor, grad_y: &Tensor) -> Tensor {
    unary_pullback("exp_pullback", y, grad_y, |g, e| g * e)
}

/// Natural logarithm (`ln 0 = -inf`, negative inputs give NaN).
pub fn ln(a: &Tensor) -> Tensor {
    unary(a, f32::ln)
}

/// Returns `grad_a`.
///
/// # Panics
/// If `a` and `grad_y` differ in shape.
pub fn ln_pullback(a: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    unary_pullback("ln_pullback", a, grad_y, |g, x| g / x)
}

/// Square root.
pub fn sqrt(a: &Tensor) -> Tensor {
    unary(a, f32::sqrt)
}

/// Returns `grad_a`; infinite where `a == 0`, like PyTorch.
///
/// # Panics
/// If `y` and `grad_y` differ in shape.
pub fn sqrt_pullback(_a: &Tensor, y: &Tensor, grad_y: &Tensor) -> Tensor {
    unary_pullback("sqrt_pullback", y, grad_y, |g, r| g * 0.5 / r)
}

/// `a^p`. The exponent `p` is a constant: it gets no gradient (its derivative
/// `y·ln a` is undefined for the negative bases integer powers allow).
pub fn powf(a: &Tensor, p: f32) -> Tensor {
    unary(a, |x| x.powf(p))
}

/// Returns `grad_a` only (`p` is not differentiable).
///
/// # Panics
/// If `a` and `grad_y` differ in shape.
pub fn powf_pullback(a: &Tensor, p: f32, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    unary_pullback("powf_pullback", a, grad_y, |g, x| g * p * x.powf(p - 1.0))
}

/// `a²`; cheaper and exact compared with `powf(a, 2.0)`.
pub fn sqr(a: &Tensor) -> Tensor {
    unary(a, |x| x * x)
}

/// Returns `grad_a`.
///
/// # Panics
/// If `a` and `grad_y` differ in shape.
pub fn sqr_pullback(a: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    unary_pullback("sqr_pullback", a, grad_y, |g, x| 2.0 * x * g)
}

/// Hyperbolic tangent.
pub fn tanh(a: &Tensor) -> Tensor {
    unary(a, f32::tanh)
}

/// Returns `grad_a`; reuses `y` (`1 - y²`).
///
/// # Panics
/// If `y` and `grad_y` differ in shape.
pub fn tanh_pullback(_a: &Tensor, y: &Tensor, grad_y: &Tensor) -> Tensor {
    unary_pullback("tanh_pullback", y, grad_y, |g, t| g * (1.0 - t * t))
}

/// `e^y` for `y <= 0`, branch-free so that a loop over it vectorises (libm's
/// `expf` is a call per element, and was most of [`sigmoid`]'s cost). Cephes'
/// `expf` polynomial; [`sigmoid`] built on it stays within 1.5 ulp of the exact
/// value (relative error 1.7e-7, see its test). Inputs below −88 give 0:
/// their exact values are subnormal, which [`sigmoid`] flushes anyway.
#[inline(always)]
fn exp_nonpositive(y: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two so that n·LN2_HI is exact for the n that occur.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5·2^23 rounds to an integer without a libm call.
    const ROUND: f32 = 12_582_912.0;
    let y = y.max(-88.0);
    let shifted = y * LOG2E + ROUND;
    let n = shifted - ROUND;
    // n as an integer, read off the low mantissa bits of `shifted`.
    let ni = (shifted.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let r = y - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    // 2^n from its bit pattern; n = -127 gives exponent field 0, i.e. 0.0.
    let scale = f32::from_bits(((ni + 127) as u32) << 23);
    e * scale
}

/// Logistic sigmoid, evaluated so that it never overflows (`e^{-|x|}` is all
/// it takes, for both signs).
///
/// Results below the smallest normal `f32` (inputs below about −87.3) are
/// flushed to 0. Saturated units are common (the lecture's two-layer net has
/// pre-activations of ±100), and a handful of subnormal activations made the
/// next GEMM several times slower (x86 handles subnormal operands in microcode),
/// while carrying no information a gradient step could use. numpy's and
/// PyTorch's `1 / (1 + e^{-x})` give 0 there too, through overflow.
pub fn sigmoid(a: &Tensor) -> Tensor {
    unary(a, |x| {
        let t = exp_nonpositive(-x.abs());
        let s = if x >= 0.0 { 1.0 } else { t } / (1.0 + t);
        let s = if s < f32::MIN_POSITIVE { 0.0 } else { s };
        // `max` in `exp_nonpositive` turned a NaN into a number.
        if x.is_nan() {
            x
        } else {
            s
        }
    })
}

/// Returns `grad_a`; reuses `y` (`y(1 - y)`).
///
/// # Panics
/// If `y` and `grad_y` differ in shape.
pub fn sigmoid_pullback(_a: &Tensor, y: &Tensor, grad_y: &Tensor) -> Tensor {
    unary_pullback("sigmoid_pullback", y, grad_y, |g, s| g * s * (1.0 - s))
}

/// `max(a, 0)`; NaN passes through.
pub fn relu(a: &Tensor) -> Tensor {
    unary(a, |x| if x <= 0.0 { 0.0 } else { x })
}

/// Returns `grad_a`: `grad_y` where `a > 0`, else 0. At exactly `a == 0` the
/// gradient is 0, PyTorch's convention.
///
/// # Panics
/// If `a` and `grad_y` differ in shape.
pub fn relu_pullback(a: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    unary_pullback(
        "relu_pullback",
        a,
        grad_y,
        |g, x| if x > 0.0 { g } else { 0.0 },
    )
}

/// `a` where `a > 0`, else `slope * a`. The slope is a hyper-parameter and gets
/// no gradient.
pub fn leaky_relu(a: &Tensor, slope: f32) -> Tensor {
    unary(a, |x| if x > 0.0 { x } else { slope * x })
}

/// Returns `grad_a` only; at exactly `a == 0` the slope branch is taken
/// (PyTorch's convention).
///
/// # Panics
/// If `a` and `grad_y` differ in shape.
pub fn leaky_relu_pullback(a: &Tensor, slope: f32, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    unary_pullback("leaky_relu_pullback", a, grad_y, |g, x| {
        if x > 0.0 {
            g
        } else {
            slope * g
        }
    })
}

/// `f` on every element of `a`, in parallel for large tensors.
fn unary(a: &Tensor, f: impl Fn(f32) -> f32 + Sync) -> Tensor {
    Tensor {
        data: map_par(&a.data, f),
        shape: a.shape.clone(),
    }
}
