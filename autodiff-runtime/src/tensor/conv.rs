//! 2-D convolution (PyTorch `Conv2d` semantics) by im2col + GEMM, and its pullback.
//!
//! For each image and group the receptive fields are unrolled into a
//! `[C/groups * KH * KW, OH * OW]` matrix, so the convolution becomes one GEMM
//! whose output rows are already NCHW output planes. The pullback re-unrolls the
//! input instead of keeping the (large) unrolled matrix from the forward pass:
//! `dW += dY · colᵀ` and `dX = col2im(Wᵀ · dY)`.
//!
//! Work is split over images: with `t` threads the batch is cut into `t`
//! contiguous slices, each worker unrolls into its own buffer and calls a
//! single-threaded GEMM (LeNet-sized products are too small to split well), and
//! weight gradients are summed per slice and then in slice order, so results do
//! not depend on scheduling.

use rayon::prelude::*;

use super::buffer::fill_images;
use super::matmul::{sgemm, Mat};
use super::threads::parallel;
use super::{shape_numel, Tensor};

/// Hyper-parameters of [`conv2d`]; per axis values are `(height, width)`.
///
/// `Default` is stride 1, no padding, dilation 1, one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dParams {
    /// Step between neighbouring output positions.
    pub stride: (usize, usize),
    /// Zeros added on each side of the input.
    pub padding: (usize, usize),
    /// Spacing between kernel taps (1 = dense kernel).
    pub dilation: (usize, usize),
    /// Input and output channels are split into this many independent groups.
    pub groups: usize,
}

impl Default for Conv2dParams {
    fn default() -> Self {
        Conv2dParams::square(1, 0, 1, 1)
    }
}

impl Conv2dParams {
    /// The same stride, padding and dilation along both axes.
    pub fn square(stride: usize, padding: usize, dilation: usize, groups: usize) -> Self {
        Conv2dParams {
            stride: (stride, stride),
            padding: (padding, padding),
            dilation: (dilation, dilation),
            groups,
        }
    }
}

/// Output length along one axis: `floor((n + 2p - d(f - 1) - 1) / s) + 1`, which is
/// the lecture's `(N - F + 2P)/S + 1` for `d = 1`.
///
/// # Panics
/// If `stride` or `dilation` is 0, or the (dilated) kernel is larger than the
/// padded input.
pub fn conv2d_output_size(
    n: usize,
    f: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
) -> usize {
    assert!(
        stride > 0 && dilation > 0,
        "conv2d: stride {stride} and dilation {dilation} must be positive"
    );
    // Checked arithmetic: absurd padding or dilation must panic, not wrap.
    let span = dilation
        .checked_mul(f.max(1) - 1)
        .and_then(|s| s.checked_add(1));
    let padded = padding.checked_mul(2).and_then(|p| p.checked_add(n));
    match (span, padded) {
        (Some(span), Some(padded)) if f > 0 && padded >= span => (padded - span) / stride + 1,
        _ => panic!(
            "conv2d: kernel of size {f} (dilation {dilation}) does not fit an input of size {n} \
             with padding {padding}"
        ),
    }
}

/// Validated geometry of one convolution.
#[derive(Clone, Copy)]
struct Geom {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    groups: usize,
    p: Conv2dParams,
}

impl Geom {
    fn new(op: &str, x: &Tensor, w: &Tensor, bias: Option<&Tensor>, p: Conv2dParams) -> Geom {
        let (xs, ws) = (&x.shape, &w.shape);
        assert!(
            xs.len() == 4 && ws.len() == 4,
            "{op}: input {xs:?} and weight {ws:?} must both be rank 4 ([N, C, H, W] and \
             [O, C/groups, KH, KW])"
        );
        let g = p.groups;
        assert!(g > 0, "{op}: groups must be at least 1");
        assert!(
            xs[1] == ws[1] * g && ws[0] % g == 0,
            "{op}: input {xs:?}, weight {ws:?}, groups {g}: need C = {} = weight C/groups {} x \
             groups and O = {} divisible by groups",
            xs[1],
            ws[1],
            ws[0]
        );
        if let Some(b) = bias {
            assert!(
                b.shape == [ws[0]],
                "{op}: input {xs:?}, weight {ws:?}: bias has shape {:?}, expected [{}]",
                b.shape,
                ws[0]
            );
        }
        let oh = conv2d_output_size(xs[2], ws[2], p.stride.0, p.padding.0, p.dilation.0);
        let ow = conv2d_output_size(xs[3], ws[3], p.stride.1, p.padding.1, p.dilation.1);
        // Panics on overflow, so every later size product fits in usize.
        shape_numel(&[xs[0], ws[0], oh, ow]);
        shape_numel(&[ws[0], ws[1], ws[2], ws[3], oh, ow]);
        Geom {
            n: xs[0],
            c: xs[1],
            h: xs[2],
            w: xs[3],
            o: ws[0],
            kh: ws[2],
            kw: ws[3],
            oh,
            ow,
            groups: g,
            p,
        }
    }
    fn cg(&self) -> usize {
        self.c / self.groups
    }
    fn og(&self) -> usize {
        self.o / self.groups
    }
    /// Rows of the unrolled matrix (= weight row length).
    fn k(&self) -> usize {
        self.cg() * self.kh * self.kw
    }
    /// Output positions per plane.
    fn pix(&self) -> usize {
        self.oh * self.ow
    }
    fn in_img(&self) -> usize {
        self.c * self.h * self.w
    }
    fn out_img(&self) -> usize {
        self.o * self.pix()
    }
}

/// Input coordinate of output position `o`, kernel tap `k`, or `None` if it falls
/// in the zero padding.
#[inline]
fn src(o: usize, k: usize, stride: usize, dil: usize, pad: usize, len: usize) -> Option<usize> {
    let i = (o * stride + k * dil).checked_sub(pad)?;
    (i < len).then_some(i)
}

/// Range of output positions `o` whose input coordinate for tap `k` is inside
/// `0..len`, so the inner loops need no bounds tests.
#[inline]
fn valid_range(
    k: usize,
    stride: usize,
    dil: usize,
    pad: usize,
    len: usize,
    out: usize,
) -> (usize, usize) {
    let off = k * dil;
    // o * stride + off >= pad
    let lo = if off >= pad {
        0
    } else {
        (pad - off).div_ceil(stride)
    };
    // o * stride + off - pad < len
    let hi = if off >= pad + len {
        0
    } else {
        (len + pad - off).div_ceil(stride)
    };
    (lo.min(out), hi.min(out).max(lo.min(out)))
}

/// `dst.copy_from_slice(src)` for the short rows of LeNet-sized layers (8-24
/// elements). A plain `copy_from_slice` of a runtime length becomes a `memcpy`
/// call, whose fixed overhead made im2col cost more than the GEMM it feeds;
/// fixed-size blocks compile to inline vector moves.
#[inline(always)]
fn copy_short(dst: &mut [f32], src: &[f32]) {
    let mut d = dst.chunks_exact_mut(8);
    let mut s = src.chunks_exact(8);
    for (a, b) in (&mut d).zip(&mut s) {
        a.copy_from_slice(b);
    }
    for (a, b) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *a = *b;
    }
}

/// Unrolls the `cg` channels in `x` (one image, one group) into `col`
/// (`[cg*kh*kw, oh*ow]`, row-major).
///
/// Rows are short for LeNet-sized layers (8-24 elements), so the loop is arranged
/// to decide padding once per kernel tap rather than once per element or row.
fn im2col(g: &Geom, x: &[f32], col: &mut [f32]) {
    let (h, w, oh, ow) = (g.h, g.w, g.oh, g.ow);
    let (sh, sw) = g.p.stride;
    let (ph, pw) = g.p.padding;
    let (dh, dw) = g.p.dilation;
    let pix = g.pix();
    for c in 0..g.cg() {
        let plane = &x[c * h * w..(c + 1) * h * w];
        for ki in 0..g.kh {
            // Output rows whose input row for this tap is inside the image.
            let (ylo, yhi) = valid_range(ki, sh, dh, ph, h, oh);
            for kj in 0..g.kw {
                let row = (c * g.kh + ki) * g.kw + kj;
                let dst = &mut col[row * pix..(row + 1) * pix];
                let (lo, hi) = valid_range(kj, sw, dw, pw, w, ow);
                dst[..ylo * ow].fill(0.0);
                dst[yhi * ow..].fill(0.0);
                if lo == hi {
                    dst[ylo * ow..yhi * ow].fill(0.0);
                    continue;
                }
                let base = lo * sw + kj * dw - pw;
                let n = hi - lo;
                for (oy, d) in dst[ylo * ow..yhi * ow].chunks_exact_mut(ow).enumerate() {
                    let iy = (ylo + oy) * sh + ki * dh - ph;
                    let line = &plane[iy * w + base..];
                    d[..lo].fill(0.0);
                    d[hi..].fill(0.0);
                    if sw == 1 {
                        copy_short(&mut d[lo..hi], &line[..n]);
                    } else {
                        for (t, v) in d[lo..hi].iter_mut().enumerate() {
                            *v = line[t * sw];
                        }
                    }
                }
            }
        }
    }
}

/// Adjoint of [`im2col`]: adds `col` back into the `cg` channels of `dx`.
fn col2im(g: &Geom, col: &[f32], dx: &mut [f32]) {
    let (h, w, oh, ow) = (g.h, g.w, g.oh, g.ow);
    let (sh, sw) = g.p.stride;
    let (ph, pw) = g.p.padding;
    let (dh, dw) = g.p.dilation;
    let pix = g.pix();
    for c in 0..g.cg() {
        let plane = &mut dx[c * h * w..(c + 1) * h * w];
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let row = (c * g.kh + ki) * g.kw + kj;
                let s = &col[row * pix..(row + 1) * pix];
                let (lo, hi) = valid_range(kj, sw, dw, pw, w, ow);
                for oy in 0..oh {
                    if lo == hi {
                        break;
                    }
                    if let Some(iy) = src(oy, ki, sh, dh, ph, h) {
                        let line = &mut plane[iy * w..(iy + 1) * w];
                        let sv = &s[oy * ow + lo..oy * ow + hi];
                        let base = lo * sw + kj * dw - pw;
                        if sw == 1 {
                            for (d, v) in line[base..base + sv.len()].iter_mut().zip(sv) {
                                *d += v;
                            }
                        } else {
                            for (t, v) in sv.iter().enumerate() {
                                line[base + t * sw] += v;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// 2-D convolution (cross-correlation, as in every DL framework) of `x`
/// `[N, C, H, W]` with `w` `[O, C/groups, KH, KW]` plus an optional `bias` `[O]`,
/// giving `[N, O, OH, OW]` with `OH = floor((H + 2ph - dh(KH - 1) - 1)/sh) + 1`.
/// Padding is zeros. `params` is not differentiable.
///
/// # Panics
/// If `x` or `w` is not rank 4, channels do not match `C = w.shape[1] * groups`,
/// `O` is not divisible by `groups`, `bias` is not `[O]`, any stride/dilation/groups
/// is 0, or the dilated kernel does not fit the padded input. Messages name all
/// shapes.
pub fn conv2d(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, params: Conv2dParams) -> Tensor {
    let g = Geom::new("conv2d", x, w, bias, params);
    let (k, pix, og, cg) = (g.k(), g.pix(), g.og(), g.cg());
    let image = |col: &mut Vec<f32>, ni: usize, y: &mut [f32], gemm_threads: usize| {
        col.resize(k * pix, 0.0);
        let xi = &x.data[ni * g.in_img()..(ni + 1) * g.in_img()];
        for gi in 0..g.groups {
            im2col(&g, &xi[gi * cg * g.h * g.w..], col);
            let wg = &w.data[gi * og * k..(gi + 1) * og * k];
            let yg = &mut y[gi * og * pix..(gi + 1) * og * pix];
            // Accumulate onto the bias the buffer was initialised with.
            sgemm(
                (og, k, pix),
                Mat::rows(wg, k),
                Mat::rows(col, pix),
                yg,
                bias.is_some(),
                gemm_threads,
            );
        }
    };
    let (out, _) = parallel(|threads| {
        // Several threads: one slice of the batch each, single-threaded GEMMs.
        // One thread (or one image): all threads go to GEMM.
        let (slices, gemm_threads) = if threads > 1 && g.n > 1 {
            (threads, 1)
        } else {
            (1, threads)
        };
        let planes = bias.map(|b| (&b.data[..], pix));
        fill_images(g.n, g.out_img(), slices, planes, Vec::new, |col, ni, y| {
            image(col, ni, y, gemm_threads)
        })
    });
    Tensor::from_vec(out, &[g.n, g.o, g.oh, g.ow])
}

/// Validates the pullback's operands; shared so the joint and per-argument
/// pullbacks reject exactly the same inputs with the same messages.
fn pullback_geom(
    op: &str,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    params: Conv2dParams,
    grad_y: &Tensor,
) -> Geom {
    let g = Geom::new(op, x, w, bias, params);
    let expected = [g.n, g.o, g.oh, g.ow];
    assert!(
        grad_y.shape == expected,
        "{op}: input {:?}, weight {:?}: grad_y has shape {:?}, expected {expected:?}",
        x.shape,
        w.shape,
        grad_y.shape
    );
    g
}

/// Batch slices and GEMM threads for `threads` workers: several threads take one
/// slice of the batch each with single-threaded GEMMs; one thread (or one image)
/// hands all threads to GEMM.
fn split_work(g: &Geom, threads: usize) -> (usize, usize) {
    if threads > 1 && g.n > 1 {
        (threads, 1)
    } else {
        (1, threads)
    }
}

/// Sum of `xs` in f64 over 8 independent lanes: one running sum is a chain of
/// dependent adds (4 cycles each), which made a LeNet conv1 bias gradient
/// (737K terms) cost 0.4 ms; the lanes let the adds overlap and vectorise.
fn sum_f64_lanes(xs: &[f32]) -> f64 {
    let mut acc = [0f64; 8];
    let chunks = xs.chunks_exact(8);
    let rest: f64 = chunks.remainder().iter().map(|&v| v as f64).sum();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v as f64;
        }
    }
    acc.iter().sum::<f64>() + rest
}

/// `db[o] = Σ dY[n, o, :, :]`, accumulated in f64 because it sums N·OH·OW terms.
fn grad_bias(g: &Geom, grad_y: &Tensor) -> Tensor {
    let (pix, out_img) = (g.pix(), g.out_img());
    let mut db = vec![0f64; g.o];
    for img in grad_y.data.chunks(out_img.max(1)) {
        for (d, plane) in db.iter_mut().zip(img.chunks(pix.max(1))) {
            *d += sum_f64_lanes(plane);
        }
    }
    Tensor::from_vec(db.into_iter().map(|v| v as f32).collect(), &[g.o])
}

/// `dX = col2im(Wᵀ · dY)` per image and group. Needs no im2col of `x`.
fn grad_input(g: &Geom, x: &Tensor, w: &Tensor, grad_y: &Tensor) -> Tensor {
    if grad_y.data.is_empty() {
        // No outputs (N = 0 or O = 0): nothing flows back.
        return Tensor::zeros(&x.shape);
    }
    let (k, pix, og, cg) = (g.k(), g.pix(), g.og(), g.cg());
    let (in_img, out_img) = (g.in_img(), g.out_img());
    let image = |dcol: &mut Vec<f32>, ni: usize, dxi: &mut [f32], t: usize| {
        dcol.resize(k * pix, 0.0);
        let gyi = &grad_y.data[ni * out_img..(ni + 1) * out_img];
        for gi in 0..g.groups {
            let gy = &gyi[gi * og * pix..(gi + 1) * og * pix];
            let wg = &w.data[gi * og * k..(gi + 1) * og * k];
            // dcol = W_gᵀ [k, og] · dY_g [og, pix]
            sgemm(
                (k, og, pix),
                Mat::transposed(wg, k),
                Mat::rows(gy, pix),
                dcol,
                false,
                t,
            );
            col2im(g, dcol, &mut dxi[gi * cg * g.h * g.w..]);
        }
    };
    let (dx, _) = parallel(|threads| {
        let (slices, gemm_threads) = split_work(g, threads);
        fill_images(g.n, in_img, slices, None, Vec::new, |dcol, ni, dxi| {
            image(dcol, ni, dxi, gemm_threads)
        })
    });
    Tensor::from_vec(dx, &x.shape)
}

/// `dW = Σ_images dY · colᵀ`, one im2col per image and group. Each batch slice
/// sums into its own partial, and partials are added in slice order, so the
/// result does not depend on scheduling.
fn grad_weight(g: &Geom, x: &Tensor, w: &Tensor, grad_y: &Tensor) -> Tensor {
    let wlen = w.numel();
    if grad_y.data.is_empty() {
        return Tensor::zeros(&w.shape);
    }
    let (k, pix, og, cg) = (g.k(), g.pix(), g.og(), g.cg());
    let (in_img, out_img) = (g.in_img(), g.out_img());
    /// Per-worker state: the unrolled image and a partial weight gradient.
    struct State {
        col: Vec<f32>,
        dw: Vec<f32>,
    }
    let image = |st: &mut State, ni: usize, t: usize| {
        st.col.resize(k * pix, 0.0);
        let xi = &x.data[ni * in_img..(ni + 1) * in_img];
        let gyi = &grad_y.data[ni * out_img..(ni + 1) * out_img];
        for gi in 0..g.groups {
            let gy = &gyi[gi * og * pix..(gi + 1) * og * pix];
            im2col(g, &xi[gi * cg * g.h * g.w..], &mut st.col);
            // dW_g += dY_g [og, pix] · colᵀ [pix, k]
            sgemm(
                (og, pix, k),
                Mat::rows(gy, pix),
                Mat::transposed(&st.col, pix),
                &mut st.dw[gi * og * k..(gi + 1) * og * k],
                true,
                t,
            );
        }
    };
    let partials = parallel(|threads| {
        let (slices, gemm_threads) = split_work(g, threads);
        let init = || State {
            col: Vec::new(),
            dw: vec![0f32; wlen],
        };
        // Contiguous slices of the batch, as `fill_images` cuts them for the
        // forward pass and `grad_input`.
        let per = g.n.div_ceil(slices);
        let slice = |s: usize| {
            let mut st = init();
            for ni in s * per..((s + 1) * per).min(g.n) {
                image(&mut st, ni, gemm_threads);
            }
            st
        };
        let groups = g.n.div_ceil(per);
        if groups > 1 {
            (0..groups).into_par_iter().map(slice).collect::<Vec<_>>()
        } else {
            vec![slice(0)]
        }
    });
    let mut it = partials.into_iter();
    let mut dw = it.next().map_or_else(|| vec![0f32; wlen], |s| s.dw);
    for p in it {
        dw.iter_mut().zip(&p.dw).for_each(|(a, b)| *a += b);
    }
    Tensor::from_vec(dw, &w.shape)
}

/// Returns `(grad_x, grad_w, grad_bias)`; `grad_bias` is `Some` exactly when
/// `bias` is. `params` gets no gradient.
///
/// Equal, bit for bit, to calling [`conv2d_pullback_input`],
/// [`conv2d_pullback_weight`] and [`conv2d_pullback_bias`]; call those when only
/// some arguments need gradients (the input of a first layer is data, and its
/// gradient costs a GEMM and a col2im per image).
///
/// # Panics
/// On the shape errors of [`conv2d`], or if `grad_y` is not `[N, O, OH, OW]`.
pub fn conv2d_pullback(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    params: Conv2dParams,
    _y: &Tensor,
    grad_y: &Tensor,
) -> (Tensor, Tensor, Option<Tensor>) {
    let g = pullback_geom("conv2d_pullback", x, w, bias, params, grad_y);
    (
        grad_input(&g, x, w, grad_y),
        grad_weight(&g, x, w, grad_y),
        bias.map(|_| grad_bias(&g, grad_y)),
    )
}

/// Returns `grad_x` only (the first component of [`conv2d_pullback`]). Takes the
/// same arguments as [`conv2d_pullback`] so generated code can pass the forward
/// arguments unchanged; `bias` is only shape-checked.
///
/// # Panics
/// As [`conv2d_pullback`].
pub fn conv2d_pullback_input(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    params: Conv2dParams,
    _y: &Tensor,
    grad_y: &Tensor,
) -> Tensor {
    let g = pullback_geom("conv2d_pullback_input", x, w, bias, params, grad_y);
    grad_input(&g, x, w, grad_y)
}

/// Returns `grad_w` only (the second component of [`conv2d_pullback`]).
///
/// # Panics
/// As [`conv2d_pullback`].
pub fn conv2d_pullback_weight(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    params: Conv2dParams,
    _y: &Tensor,
    grad_y: &Tensor,
) -> Tensor {
    let g = pullback_geom("conv2d_pullback_weight", x, w, bias, params, grad_y);
    grad_weight(&g, x, w, grad_y)
}

/// Returns `grad_bias` only (the third component of [`conv2d_pullback`]): `grad_y`
/// summed over batch and positions.
///
/// # Panics
/// As [`conv2d_pullback`], and if `bias` is `None`: a convolution without a bias
/// has no bias gradient, so asking for one is a bug in the caller.
pub fn conv2d_pullback_bias(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    params: Conv2dParams,
    _y: &Tensor,
    grad_y: &Tensor,
) -> Tensor {
    let g = pullback_geom("conv2d_pullback_bias", x, w, bias, params, grad_y);
    assert!(
        bias.is_some(),
        "conv2d_pullback_bias: input {:?}, weight {:?}: the convolution has no bias \
         (bias is None), so there is no bias gradient",
        x.shape,
        w.shape
    );
    grad_bias(&g, grad_y)
}
