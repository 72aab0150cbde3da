//! Softmax, losses and the L2 penalty.
//!
//! Softmax-style functions subtract the row maximum before exponentiating, so
//! logits of any magnitude (±1e4 and beyond) give finite results. Losses return
//! rank-0 tensors and average over the batch, so the learning rate does not have
//! to change with the batch size.

use super::Tensor;

/// `(rows, row_len)` for an op along the last axis.
fn rows(op: &str, a: &Tensor) -> (usize, usize) {
    assert!(
        a.rank() >= 1,
        "{op}: needs rank >= 1 (it works along the last axis), got shape {:?}",
        a.shape
    );
    let c = a.shape[a.rank() - 1];
    (a.numel().checked_div(c).unwrap_or(0), c)
}

/// `max` and `ln Σ exp(x - max)` of one row, the pieces of a stable log-sum-exp.
fn max_lse(row: &[f32]) -> (f32, f32) {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let s: f64 = row.iter().map(|&x| ((x - m) as f64).exp()).sum();
    (m, s.ln() as f32)
}

fn same_shape(op: &str, a: &Tensor, b: &Tensor, names: (&str, &str)) {
    assert!(
        a.shape == b.shape,
        "{op}: {} has shape {:?} but {} has shape {:?}",
        names.0,
        a.shape,
        names.1,
        b.shape
    );
}

/// Softmax along the last axis.
///
/// # Panics
/// If `a` is rank 0.
pub fn softmax(a: &Tensor) -> Tensor {
    let (_, c) = rows("softmax", a);
    let mut out = a.clone();
    for row in out.data.chunks_mut(c.max(1)) {
        let (m, lse) = max_lse(row);
        for v in row.iter_mut() {
            *v = (*v - m - lse).exp();
        }
    }
    out
}

/// Returns `grad_a = y ⊙ (grad_y − Σ_row grad_y ⊙ y)`.
///
/// # Panics
/// If `y` or `grad_y` differ in shape from `a`.
pub fn softmax_pullback(a: &Tensor, y: &Tensor, grad_y: &Tensor) -> Tensor {
    let (_, c) = rows("softmax_pullback", a);
    same_shape("softmax_pullback", a, y, ("a", "y"));
    same_shape("softmax_pullback", a, grad_y, ("a", "grad_y"));
    let mut out = grad_y.clone();
    for (gr, yr) in out.data.chunks_mut(c.max(1)).zip(y.data.chunks(c.max(1))) {
        let dot: f64 = gr.iter().zip(yr).map(|(&g, &s)| g as f64 * s as f64).sum();
        for (g, &s) in gr.iter_mut().zip(yr) {
            *g = s * (*g - dot as f32);
        }
    }
    out
}

/// Log-softmax along the last axis: `a − logsumexp(a)`, computed without
/// forming the softmax, so it stays accurate where the softmax underflows.
///
/// # Panics
/// If `a` is rank 0.
pub fn log_softmax(a: &Tensor) -> Tensor {
    let (_, c) = rows("log_softmax", a);
    let mut out = a.clone();
    for row in out.data.chunks_mut(c.max(1)) {
        let (m, lse) = max_lse(row);
        for v in row.iter_mut() {
            *v = *v - m - lse;
        }
    }
    out
}

/// Returns `grad_a = grad_y − exp(y) · Σ_row grad_y`.
///
/// # Panics
/// If `y` or `grad_y` differ in shape from `a`.
pub fn log_softmax_pullback(a: &Tensor, y: &Tensor, grad_y: &Tensor) -> Tensor {
    let (_, c) = rows("log_softmax_pullback", a);
    same_shape("log_softmax_pullback", a, y, ("a", "y"));
    same_shape("log_softmax_pullback", a, grad_y, ("a", "grad_y"));
    let mut out = grad_y.clone();
    for (gr, yr) in out.data.chunks_mut(c.max(1)).zip(y.data.chunks(c.max(1))) {
        let s: f64 = gr.iter().map(|&g| g as f64).sum();
        for (g, &l) in gr.iter_mut().zip(yr) {
            *g -= l.exp() * s as f32;
        }
    }
    out
}

/// Validates `[N, C]` scores against `N` labels in `0..C`; returns `(N, C)`.
fn check_labels(op: &str, scores: &Tensor, labels: &[usize]) -> (usize, usize) {
    assert!(
        scores.rank() == 2,
        "{op}: scores must be [N, C], got shape {:?}",
        scores.shape
    );
    let (n, c) = (scores.shape[0], scores.shape[1]);
    assert!(
        labels.len() == n,
        "{op}: scores {:?} need {n} labels, got {}",
        scores.shape,
        labels.len()
    );
    assert!(n > 0, "{op}: scores {:?}: empty batch", scores.shape);
    if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l >= c) {
        panic!(
            "{op}: scores {:?}: label {l} at position {i} is out of range 0..{c}",
            scores.shape
        );
    }
    (n, c)
}

/// Mean softmax cross-entropy `−(1/N) Σ_i log softmax(logits_i)[labels_i]`, as a
/// rank-0 tensor. Labels are not differentiable.
///
/// # Panics
/// If `logits` is not `[N, C]` with `N > 0`, `labels.len() != N`, or a label is
/// `>= C`.
pub fn softmax_cross_entropy(logits: &Tensor, labels: &[usize]) -> Tensor {
    let (n, c) = check_labels("softmax_cross_entropy", logits, labels);
    let mut total = 0f64;
    for (row, &l) in logits.data.chunks(c).zip(labels) {
        let (m, lse) = max_lse(row);
        total += (m as f64 + lse as f64) - row[l] as f64;
    }
    Tensor::scalar((total / n as f64) as f32)
}

/// Returns `grad_logits = grad_y · (softmax(logits) − onehot(labels)) / N`.
///
/// # Panics
/// As [`softmax_cross_entropy`], or if `grad_y` is not a single element.
pub fn softmax_cross_entropy_pullback(
    logits: &Tensor,
    labels: &[usize],
    _y: &Tensor,
    grad_y: &Tensor,
) -> Tensor {
    let (n, c) = check_labels("softmax_cross_entropy_pullback", logits, labels);
    let scale = grad_y.item() / n as f32;
    let mut out = softmax(logits);
    for (row, &l) in out.data.chunks_mut(c).zip(labels) {
        row[l] -= 1.0;
        row.iter_mut().for_each(|v| *v *= scale);
    }
    out
}

/// The multiclass SVM (hinge) loss of the lecture,
/// `(1/N) Σ_i Σ_{j≠y_i} max(0, s_ij − s_{i,y_i} + 1)`, as a rank-0 tensor.
/// Labels are not differentiable.
///
/// # Panics
/// If `scores` is not `[N, C]` with `N > 0`, `labels.len() != N`, or a label is
/// `>= C`.
pub fn multiclass_hinge(scores: &Tensor, labels: &[usize]) -> Tensor {
    let (n, c) = check_labels("multiclass_hinge", scores, labels);
    let mut total = 0f64;
    for (row, &l) in scores.data.chunks(c).zip(labels) {
        for (j, &s) in row.iter().enumerate() {
            if j != l {
                total += (s - row[l] + 1.0).max(0.0) as f64;
            }
        }
    }
    Tensor::scalar((total / n as f64) as f32)
}

/// Returns `grad_scores`: for every active margin (`> 0`; a margin of exactly 0
/// counts as inactive, like ReLU) `+grad/N` on `s_j` and `−grad/N` on `s_{y_i}`.
///
/// # Panics
/// As [`multiclass_hinge`], or if `grad_y` is not a single element.
pub fn multiclass_hinge_pullback(
    scores: &Tensor,
    labels: &[usize],
    _y: &Tensor,
    grad_y: &Tensor,
) -> Tensor {
    let (n, c) = check_labels("multiclass_hinge_pullback", scores, labels);
    let scale = grad_y.item() / n as f32;
    let mut out = Tensor::zeros(&scores.shape);
    for (orow, (row, &l)) in out
        .data
        .chunks_mut(c)
        .zip(scores.data.chunks(c).zip(labels))
    {
        for j in 0..c {
            if j != l && row[j] - row[l] + 1.0 > 0.0 {
                orow[j] += scale;
                orow[l] -= scale;
            }
        }
    }
    out
}

/// Mean squared error `mean((a − b)²)` over all elements, as a rank-0 tensor.
///
/// # Panics
/// If the shapes differ (no broadcasting: a silent broadcast here is almost
/// always a bug).
pub fn mse(a: &Tensor, b: &Tensor) -> Tensor {
    same_shape("mse", a, b, ("prediction", "target"));
    let s: f64 = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(&x, &y)| {
            let d = x as f64 - y as f64;
            d * d
        })
        .sum();
    Tensor::scalar((s / a.numel() as f64) as f32)
}

/// Returns `(grad_a, grad_b) = (2(a − b)/n · g, −2(a − b)/n · g)`.
///
/// # Panics
/// If the shapes differ or `grad_y` is not a single element.
pub fn mse_pullback(a: &Tensor, b: &Tensor, _y: &Tensor, grad_y: &Tensor) -> (Tensor, Tensor) {
    same_shape("mse_pullback", a, b, ("prediction", "target"));
    let scale = 2.0 * grad_y.item() / a.numel() as f32;
    let ga = Tensor {
        data: a
            .data
            .iter()
            .zip(&b.data)
            .map(|(&x, &y)| (x - y) * scale)
            .collect(),
        shape: a.shape.clone(),
    };
    let gb = ga.map(|v| -v);
    (ga, gb)
}

/// L2 penalty `Σ w²` (no ½ and no λ: multiply by a scalar for those).
pub fn l2(w: &Tensor) -> Tensor {
    Tensor::scalar(w.data.iter().map(|&x| x as f64 * x as f64).sum::<f64>() as f32)
}

/// Returns `grad_w = 2 w · grad_y`.
///
/// # Panics
/// If `grad_y` is not a single element.
pub fn l2_pullback(w: &Tensor, _y: &Tensor, grad_y: &Tensor) -> Tensor {
    let g = 2.0 * grad_y.item();
    w.map(|x| g * x)
}
