//! Shape-changing operations: reshape, flatten, transpose, permute.
//!
//! Tensors are always contiguous, so reshape/flatten are buffer moves while
//! transpose/permute copy. Their pullbacks undo the layout change on the gradient.

use super::{check_rank, shape_numel, Tensor, MAX_RANK};

/// The same elements under a new shape with the same element count.
///
/// # Panics
/// If the element counts differ or the new rank exceeds 4.
pub fn reshape(a: &Tensor, shape: &[usize]) -> Tensor {
    check_rank("reshape", shape);
    assert!(
        shape_numel(shape) == a.numel(),
        "reshape: cannot reshape {:?} ({} elements) to {shape:?} ({} elements)",
        a.shape,
        a.numel(),
        shape_numel(shape)
    );
    Tensor {
        data: a.data.clone(),
        shape: shape.to_vec(),
    }
}

/// Returns `grad_a`: `grad_y` reshaped back. The target shape is not differentiable.
///
/// # Panics
/// If `grad_y` has a different element count from `a`.
pub fn reshape_pullback(a: &Tensor, _shape: &[usize], _y: &Tensor, grad_y: &Tensor) -> Tensor {
    reshape(grad_y, &a.shape)
}

/// Collapses all dimensions after the first: `[N, C, H, W] -> [N, C*H*W]`, the
/// step between a conv stack and a dense layer. A rank-1 `[N]` becomes `[N, 1]`.
///
/// # Panics
/// If `a` is rank 0.
pub fn flatten(a: &Tensor) -> Tensor {
    assert!(
        !a.shape.is_empty(),
        "flatten: needs rank >= 1, got shape {:?}",
        a.shape
    );
    let n = a.shape[0];
    let rest = a.shape[1..].iter().product();
    reshape(a, &[n, rest])
}

/// Returns `grad_a`.
///
/// # Panics
/// If `grad_y` has a different element count from `a`.
pub fn flatten_pullback(a: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    reshape(grad_y, &a.shape)
}

/// Reorders axes: output axis `i` is input axis `perm[i]`.
///
/// # Panics
/// If `perm` is not a permutation of `0..a.rank()`.
pub fn permute(a: &Tensor, perm: &[usize]) -> Tensor {
    let rank = a.shape.len();
    let mut seen = [false; MAX_RANK];
    let valid = perm.len() == rank
        && perm.iter().all(|&p| {
            let fresh = p < rank && !seen[p];
            if fresh {
                seen[p] = true;
            }
            fresh
        });
    assert!(
        valid,
        "permute: {perm:?} is not a permutation of the axes of shape {:?}",
        a.shape
    );
    let mut in_strides = vec![0; rank];
    let mut acc = 1;
    for i in (0..rank).rev() {
        in_strides[i] = acc;
        acc *= a.shape[i];
    }
    // Padded to 4 axes so one loop nest serves every rank.
    let pad = MAX_RANK - rank;
    let mut os = [1usize; MAX_RANK];
    let mut st = [0usize; MAX_RANK];
    for i in 0..rank {
        os[pad + i] = a.shape[perm[i]];
        st[pad + i] = in_strides[perm[i]];
    }
    let mut data = Vec::with_capacity(a.numel());
    for i0 in 0..os[0] {
        for i1 in 0..os[1] {
            for i2 in 0..os[2] {
                let base = i0 * st[0] + i1 * st[1] + i2 * st[2];
                for i3 in 0..os[3] {
                    data.push(a.data[base + i3 * st[3]]);
                }
            }
        }
    }
    Tensor {
        data,
        shape: os[pad..].to_vec(),
    }
}

/// Returns `grad_a`: `grad_y` permuted by the inverse permutation.
///
/// # Panics
/// If `perm` is not a permutation of `0..a.rank()`.
pub fn permute_pullback(a: &Tensor, perm: &[usize], _y: &Tensor, grad_y: &Tensor) -> Tensor {
    assert!(
        perm.len() == a.rank(),
        "permute_pullback: {perm:?} is not a permutation of the axes of shape {:?}",
        a.shape
    );
    let mut inv = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    permute(grad_y, &inv)
}

/// Swaps the last two axes: the matrix transpose for rank 2, a per-batch
/// transpose for rank 3.
///
/// # Panics
/// If `a` is not rank 2 or 3.
pub fn transpose(a: &Tensor) -> Tensor {
    match a.rank() {
        2 => permute(a, &[1, 0]),
        3 => permute(a, &[0, 2, 1]),
        _ => panic!(
            "transpose: needs a rank-2 or rank-3 tensor, got shape {:?}",
            a.shape
        ),
    }
}

/// Returns `grad_a`: `grad_y` transposed back.
///
/// # Panics
/// If `grad_y` is not rank 2 or 3.
pub fn transpose_pullback(_a: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    transpose(grad_y)
}
