//! Sums and means, over everything or along one axis.
//!
//! Accumulation is in `f64`: a loss summed over a large batch in `f32` loses digits
//! that gradient checks (and training curves) would then chase.

use super::elementwise::expand;
use super::Tensor;

/// Sum of all elements, as a rank-0 tensor.
pub fn sum(a: &Tensor) -> Tensor {
    Tensor::scalar(a.data.iter().map(|&x| x as f64).sum::<f64>() as f32)
}

/// Returns `grad_a`: `grad_y` copied to every element.
///
/// # Panics
/// If `grad_y` does not have exactly one element.
pub fn sum_pullback(a: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    Tensor::full(&a.shape, grad_y.item())
}

/// Mean of all elements, as a rank-0 tensor (NaN for an empty tensor).
pub fn mean(a: &Tensor) -> Tensor {
    let s = a.data.iter().map(|&x| x as f64).sum::<f64>();
    Tensor::scalar((s / a.numel() as f64) as f32)
}

/// Returns `grad_a`: `grad_y / numel` at every element.
///
/// # Panics
/// If `grad_y` does not have exactly one element.
pub fn mean_pullback(a: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    Tensor::full(&a.shape, grad_y.item() / a.numel() as f32)
}

/// (outer, len, inner) such that `axis` splits the buffer into `outer` blocks of
/// `len * inner` elements.
fn split(op: &str, shape: &[usize], axis: usize) -> (usize, usize, usize) {
    assert!(
        axis < shape.len(),
        "{op}: axis {axis} out of range for shape {shape:?}"
    );
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

fn reduced_shape(shape: &[usize], axis: usize, keepdim: bool) -> Vec<usize> {
    let mut s = shape.to_vec();
    if keepdim {
        s[axis] = 1;
    } else {
        s.remove(axis);
    }
    s
}

/// Sum along `axis`; `keepdim` keeps it as a size-1 dimension (handy for
/// broadcasting the result back against `a`). Axis and `keepdim` are not
/// differentiable.
///
/// # Panics
/// If `axis >= a.rank()`.
pub fn sum_axis(a: &Tensor, axis: usize, keepdim: bool) -> Tensor {
    let (outer, len, inner) = split("sum_axis", &a.shape, axis);
    let mut acc = vec![0f64; outer * inner];
    for o in 0..outer {
        for l in 0..len {
            let src = &a.data[(o * len + l) * inner..(o * len + l + 1) * inner];
            for (dst, &x) in acc[o * inner..(o + 1) * inner].iter_mut().zip(src) {
                *dst += x as f64;
            }
        }
    }
    Tensor::from_vec(
        acc.into_iter().map(|x| x as f32).collect(),
        &reduced_shape(&a.shape, axis, keepdim),
    )
}

/// Returns `grad_a`: `grad_y` broadcast back along `axis`.
///
/// # Panics
/// If `axis >= a.rank()` or `grad_y` does not have the shape `sum_axis` produced.
pub fn sum_axis_pullback(
    a: &Tensor,
    axis: usize,
    keepdim: bool,
    _y: &Tensor,
    grad_y: &Tensor,
) -> Tensor {
    split("sum_axis_pullback", &a.shape, axis);
    let expected = reduced_shape(&a.shape, axis, keepdim);
    assert!(
        grad_y.shape == expected,
        "sum_axis_pullback: grad_y has shape {:?}, expected {expected:?} for input {:?}",
        grad_y.shape,
        a.shape
    );
    let kept = Tensor::from_vec(grad_y.data.clone(), &reduced_shape(&a.shape, axis, true));
    expand("sum_axis_pullback", &kept, &a.shape)
}

/// Mean along `axis` (see [`sum_axis`]).
///
/// # Panics
/// If `axis >= a.rank()`.
pub fn mean_axis(a: &Tensor, axis: usize, keepdim: bool) -> Tensor {
    let s = sum_axis(a, axis, keepdim);
    let n = a.shape[axis] as f32;
    s.map(|x| x / n)
}

/// Returns `grad_a`.
///
/// # Panics
/// If `axis >= a.rank()` or `grad_y` does not have the shape `mean_axis` produced.
pub fn mean_axis_pullback(
    a: &Tensor,
    axis: usize,
    keepdim: bool,
    y: &Tensor,
    grad_y: &Tensor,
) -> Tensor {
    let g = sum_axis_pullback(a, axis, keepdim, y, grad_y);
    let n = a.shape[axis] as f32;
    g.map(|x| x / n)
}
