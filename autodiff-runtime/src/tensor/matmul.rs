//! Matrix products on top of the `gemm` crate, and their pullbacks.
//!
//! The pullbacks never materialise a transpose: GEMM takes arbitrary strides, so
//! `dy·wᵀ` and `xᵀ·dy` read the stored operands with swapped strides.

use rayon::prelude::*;

use super::threads::{gemm_parallelism, parallel};
use super::Tensor;

/// A matrix operand: a slice plus the strides of its row and column index.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a> {
    pub data: &'a [f32],
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> Mat<'a> {
    /// Row-major `rows x cols` matrix.
    pub fn rows(data: &'a [f32], cols: usize) -> Mat<'a> {
        Mat {
            data,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major `rows x cols` matrix stored in `data`.
    pub fn transposed(data: &'a [f32], cols: usize) -> Mat<'a> {
        Mat {
            data,
            row_stride: 1,
            col_stride: cols,
        }
    }

    /// Panics unless every element of an `r x c` view lies inside the slice; this
    /// is what makes the raw-pointer GEMM call below sound.
    fn check(&self, r: usize, c: usize) {
        if r > 0 && c > 0 {
            let last = (r - 1)
                .checked_mul(self.row_stride)
                .zip((c - 1).checked_mul(self.col_stride))
                .and_then(|(a, b)| a.checked_add(b));
            assert!(
                last.is_some_and(|l| l < self.data.len()),
                "gemm: a {r}x{c} view with strides ({}, {}) does not fit a slice of {} elements",
                self.row_stride,
                self.col_stride,
                self.data.len()
            );
        }
    }
}

/// Products below this many multiply-adds run on one thread: waking a second
/// worker costs more than it saves (the lecture net's `h·w2` is 64K).
const SERIAL_MACS: usize = 1 << 20;
/// Products with fewer multiply-adds per operand element than this run on one
/// thread. In a training step the operands were just written by another core
/// (a weight by the optimizer, a gradient by the previous op), and moving them
/// costs about as much as the second thread saves: in the lecture net
/// (`[64, 1000] x [1000, 100]`, 37 per element) two threads made `x·w1` 1.6x
/// and the SGD update after `xᵀ·g` 4x slower, and the whole step went from
/// ~400 to ~295 us once these products stayed on one thread. LeNet's
/// `[64, 800] x [800, 500]` (53 per element) is left parallel.
const MIN_INTENSITY: usize = 48;

/// Threads to hand gemm for an `m x k x n` product when `threads` are available.
fn gemm_threads(m: usize, k: usize, n: usize, threads: usize) -> usize {
    let macs = m.saturating_mul(k).saturating_mul(n);
    let elements = m
        .saturating_mul(k)
        .saturating_add(k.saturating_mul(n))
        .saturating_add(m.saturating_mul(n));
    if macs < SERIAL_MACS || macs < MIN_INTENSITY.saturating_mul(elements) {
        1
    } else {
        threads
    }
}

/// `c[m x n] (row-major) = A[m x k] · B[k x n]`, or `c += A·B` when `accumulate`.
///
/// # Panics
/// If any operand slice is too short for its view.
pub(crate) fn sgemm(
    (m, k, n): (usize, usize, usize),
    a: Mat<'_>,
    b: Mat<'_>,
    c: &mut [f32],
    accumulate: bool,
    threads: usize,
) {
    assert!(
        m.checked_mul(n).is_some_and(|mn| c.len() >= mn),
        "gemm: output slice of {} elements is too short for {m}x{n}",
        c.len()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    a.check(m, k);
    b.check(k, n);
    let threads = gemm_threads(m, k, n, threads);
    // SAFETY: `check` proved every element the m x k, k x n views address lies in
    // `a.data` / `b.data`, and `c` holds the m x n row-major output (strides n, 1).
    // The output is a unique `&mut` borrow, so it cannot alias the inputs. Strides
    // are non-negative and below `isize::MAX` because they index real slices.
    // gemm writes only inside the m x n output view.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm_parallelism(threads),
        );
    }
}

/// Validated dimensions `(batch, m, k, n)`; batch is `None` for plain 2-D products.
fn dims(op: &str, a: &Tensor, b: &Tensor) -> (Option<usize>, usize, usize, usize) {
    let (sa, sb) = (&a.shape, &b.shape);
    let (batch, m, ka, kb, n) = match (sa.len(), sb.len()) {
        (2, 2) => (None, sa[0], sa[1], sb[0], sb[1]),
        (3, 3) => {
            assert!(
                sa[0] == sb[0],
                "{op}: {sa:?} x {sb:?}: batch sizes {} and {} differ",
                sa[0],
                sb[0]
            );
            (Some(sa[0]), sa[1], sa[2], sb[1], sb[2])
        }
        _ => panic!(
            "{op}: {sa:?} x {sb:?}: operands must both be rank 2 ([m, k] x [k, n]) \
             or both rank 3 ([b, m, k] x [b, k, n])"
        ),
    };
    assert!(
        ka == kb,
        "{op}: {sa:?} x {sb:?}: inner dimensions {ka} and {kb} differ"
    );
    (batch, m, ka, n)
}

/// Runs `f(batch_index, out_chunk)` over the batch, in parallel across matrices when
/// there are several (small batched products gain more from that than from
/// splitting one GEMM), otherwise handing all threads to GEMM.
fn over_batch(
    batch: usize,
    out: &mut [f32],
    chunk: usize,
    f: impl Fn(usize, &mut [f32], usize) + Sync,
) {
    if out.is_empty() {
        // Some dimension is 0: nothing to compute (and chunks of 0 are invalid).
        return;
    }
    parallel(|threads| {
        if batch <= 1 {
            f(0, out, threads);
        } else if threads > 1 {
            out.par_chunks_mut(chunk)
                .enumerate()
                .for_each(|(i, c)| f(i, c, 1));
        } else {
            for (i, c) in out.chunks_mut(chunk).enumerate() {
                f(i, c, 1);
            }
        }
    })
}

/// Matrix product `[m, k] x [k, n] -> [m, n]`, or batched
/// `[b, m, k] x [b, k, n] -> [b, m, n]`.
///
/// # Panics
/// If the operands are not both rank 2 or both rank 3, or the inner dimensions or
/// batch sizes differ; the message names both shapes.
pub fn matmul(a: &Tensor, b: &Tensor) -> Tensor {
    let (batch, m, k, n) = dims("matmul", a, b);
    let shape: Vec<usize> = match batch {
        None => vec![m, n],
        Some(b) => vec![b, m, n],
    };
    batched(batch.unwrap_or(1), (m, k, n), &shape, |i| {
        let ab = &a.data[i * m * k..(i + 1) * m * k];
        let bb = &b.data[i * k * n..(i + 1) * k * n];
        (Mat::rows(ab, k), Mat::rows(bb, n))
    })
}

/// A fresh tensor of `shape` holding, per batch entry `i`, the `m x k x n`
/// product of the two views `operands(i)`: the one loop behind the forward
/// product and both pullbacks, which differ only in the views.
fn batched<'a>(
    nb: usize,
    (m, k, n): (usize, usize, usize),
    shape: &[usize],
    operands: impl Fn(usize) -> (Mat<'a>, Mat<'a>) + Sync,
) -> Tensor {
    let mut out = vec![0f32; nb * m * n];
    over_batch(nb, &mut out, m * n, |i, c, t| {
        let (a, b) = operands(i);
        sgemm((m, k, n), a, b, c, false, t);
    });
    Tensor::from_vec(out, shape)
}

/// Validates the pullback's operands and returns `(batch, m, k, n)`; shared so the
/// joint and per-argument pullbacks reject exactly the same inputs.
fn pullback_dims(
    op: &str,
    a: &Tensor,
    b: &Tensor,
    grad_y: &Tensor,
) -> (Option<usize>, usize, usize, usize) {
    let (batch, m, k, n) = dims(op, a, b);
    let expected: Vec<usize> = match batch {
        None => vec![m, n],
        Some(b) => vec![b, m, n],
    };
    assert!(
        grad_y.shape == expected,
        "{op}: {:?} x {:?}: grad_y has shape {:?}, expected {expected:?}",
        a.shape,
        b.shape,
        grad_y.shape
    );
    (batch, m, k, n)
}

/// `grad_y · bᵀ` per batch entry, after [`pullback_dims`].
fn grad_lhs(
    dims: (Option<usize>, usize, usize, usize),
    a: &Tensor,
    b: &Tensor,
    g: &Tensor,
) -> Tensor {
    let (batch, m, k, n) = dims;
    // [m, n] x [n, k]: bᵀ read in place.
    batched(batch.unwrap_or(1), (m, n, k), &a.shape, |i| {
        let gb = &g.data[i * m * n..(i + 1) * m * n];
        let bb = &b.data[i * k * n..(i + 1) * k * n];
        (Mat::rows(gb, n), Mat::transposed(bb, n))
    })
}

/// `aᵀ · grad_y` per batch entry, after [`pullback_dims`].
fn grad_rhs(
    dims: (Option<usize>, usize, usize, usize),
    a: &Tensor,
    b: &Tensor,
    g: &Tensor,
) -> Tensor {
    let (batch, m, k, n) = dims;
    // [k, m] x [m, n]: aᵀ read in place.
    batched(batch.unwrap_or(1), (k, m, n), &b.shape, |i| {
        let gb = &g.data[i * m * n..(i + 1) * m * n];
        let ab = &a.data[i * m * k..(i + 1) * m * k];
        (Mat::transposed(ab, k), Mat::rows(gb, n))
    })
}

/// Returns `(grad_a, grad_b) = (grad_y · bᵀ, aᵀ · grad_y)` (per batch entry).
///
/// When only one operand needs a gradient (a data input times a weight), call
/// [`matmul_pullback_lhs`] or [`matmul_pullback_rhs`] instead: each skips the
/// other's GEMM, which is as expensive as the forward product.
///
/// # Panics
/// On the same shape errors as [`matmul`], or if `grad_y` is not the product's shape.
pub fn matmul_pullback(a: &Tensor, b: &Tensor, _y: &Tensor, grad_y: &Tensor) -> (Tensor, Tensor) {
    let d = pullback_dims("matmul_pullback", a, b, grad_y);
    (grad_lhs(d, a, b, grad_y), grad_rhs(d, a, b, grad_y))
}

/// Returns `grad_a = grad_y · bᵀ` only: the first component of
/// [`matmul_pullback`], bit for bit, without computing `grad_b`.
///
/// # Panics
/// As [`matmul_pullback`].
pub fn matmul_pullback_lhs(a: &Tensor, b: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    let d = pullback_dims("matmul_pullback_lhs", a, b, grad_y);
    grad_lhs(d, a, b, grad_y)
}

/// Returns `grad_b = aᵀ · grad_y` only: the second component of
/// [`matmul_pullback`], bit for bit, without computing `grad_a`.
///
/// # Panics
/// As [`matmul_pullback`].
pub fn matmul_pullback_rhs(a: &Tensor, b: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    let d = pullback_dims("matmul_pullback_rhs", a, b, grad_y);
    grad_rhs(d, a, b, grad_y)
}
