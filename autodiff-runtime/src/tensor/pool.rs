//! Max and average pooling over NCHW tensors (PyTorch semantics, `ceil_mode=False`).
//!
//! Each `(n, c)` plane is independent, so planes are processed in parallel.

use rayon::prelude::*;

use super::threads::parallel;
use super::{shape_numel, Tensor};

/// Hyper-parameters of [`max_pool2d`] / [`avg_pool2d`]; per axis `(height, width)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dParams {
    /// Window size.
    pub kernel: (usize, usize),
    /// Step between windows.
    pub stride: (usize, usize),
    /// Implicit padding on each side (never selected by max pooling; counted as
    /// zeros by average pooling).
    pub padding: (usize, usize),
}

impl Pool2dParams {
    /// The same kernel, stride and padding along both axes.
    pub fn square(kernel: usize, stride: usize, padding: usize) -> Self {
        Pool2dParams {
            kernel: (kernel, kernel),
            stride: (stride, stride),
            padding: (padding, padding),
        }
    }
}

/// Output length along one axis: `floor((n + 2p - k) / s) + 1`.
///
/// # Panics
/// If `k` or `s` is 0, `p > k / 2` (PyTorch's limit, so no window lies entirely in
/// padding), or the window does not fit the padded input.
pub fn pool2d_output_size(n: usize, k: usize, s: usize, p: usize) -> usize {
    assert!(
        k > 0 && s > 0,
        "pool2d: kernel {k} and stride {s} must be positive"
    );
    assert!(
        p <= k / 2,
        "pool2d: padding {p} must be at most half the kernel size {k}"
    );
    let padded = p.checked_mul(2).and_then(|pp| pp.checked_add(n));
    match padded {
        Some(total) if total >= k => (total - k) / s + 1,
        _ => panic!("pool2d: kernel {k} does not fit an input of size {n} with padding {p}"),
    }
}

#[derive(Clone, Copy)]
struct Geom {
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    p: Pool2dParams,
}

impl Geom {
    fn new(op: &str, x: &Tensor, p: Pool2dParams) -> Geom {
        assert!(
            x.rank() == 4,
            "{op}: input must be rank 4 [N, C, H, W], got shape {:?}",
            x.shape
        );
        let (h, w) = (x.shape[2], x.shape[3]);
        Geom {
            h,
            w,
            oh: pool2d_output_size(h, p.kernel.0, p.stride.0, p.padding.0),
            ow: pool2d_output_size(w, p.kernel.1, p.stride.1, p.padding.1),
            p,
        }
    }
    fn out_shape(&self, x: &Tensor) -> [usize; 4] {
        [x.shape[0], x.shape[1], self.oh, self.ow]
    }
    /// In-bounds input row and column ranges of window `(oy, ox)`.
    fn window(&self, oy: usize, ox: usize) -> (usize, usize, usize, usize) {
        let y0 = oy * self.p.stride.0;
        let x0 = ox * self.p.stride.1;
        let (ph, pw) = self.p.padding;
        let ys = y0.saturating_sub(ph);
        let ye = (y0 + self.p.kernel.0 - ph).min(self.h);
        let xs = x0.saturating_sub(pw);
        let xe = (x0 + self.p.kernel.1 - pw).min(self.w);
        (ys, ye, xs, xe)
    }
    /// Flat index of the first maximum in row-major scan order (NaN wins, so NaNs
    /// propagate as in PyTorch).
    fn argmax(&self, plane: &[f32], oy: usize, ox: usize) -> usize {
        let (ys, ye, xs, xe) = self.window(oy, ox);
        let mut best = ys * self.w + xs;
        let mut bv = plane[best];
        for iy in ys..ye {
            for ix in xs..xe {
                let v = plane[iy * self.w + ix];
                (bv, best) = pick((bv, best), (v, iy * self.w + ix));
            }
        }
        best
    }

    /// 2x2 windows with stride 2 and no padding (LeNet, VGG, ResNet): every
    /// window lies inside the plane, so the fixed-size kernels below apply.
    fn is_2x2(&self) -> bool {
        self.p.kernel == (2, 2) && self.p.stride == (2, 2) && self.p.padding == (0, 0)
    }
}

/// Whether `v` replaces the running maximum `best` in a scan: strictly greater,
/// or the first NaN (so NaNs propagate, as in PyTorch). Ties keep the earlier
/// element. `|`/`&` rather than `||`/`&&`, so no branch is needed.
#[inline(always)]
fn beats(v: f32, best: f32) -> bool {
    (v > best) | (v.is_nan() & !best.is_nan())
}

/// The winner of `a` (earlier in scan order) and `b`, with its position tag.
///
/// Which one wins is a coin flip on real activations, so a branch would
/// mispredict half the time and cost more than the rest of the window;
/// `select_unpredictable` asks for conditional moves/blends instead (plain
/// `if`s here were compiled back into jumps).
#[inline(always)]
fn pick(a: (f32, usize), b: (f32, usize)) -> (f32, usize) {
    let w = beats(b.0, a.0);
    (
        std::hint::select_unpredictable(w, b.0, a.0),
        std::hint::select_unpredictable(w, b.1, a.1),
    )
}

/// Value and position (0..4, row-major) of the first maximum of the 2x2
/// window `r0[0..2]` over `r1[0..2]`. Pairing (0,1) and (2,3) first keeps "first
/// maximum in scan order": each `pick` prefers its left, earlier argument.
#[inline(always)]
fn argmax_2x2(r0: &[f32], r1: &[f32]) -> (f32, usize) {
    pick(pick((r0[0], 0), (r0[1], 1)), pick((r1[0], 2), (r1[1], 3)))
}

/// [`max_pool2d`] on one plane, 2x2 windows, stride 2, no padding.
fn max_pool_2x2(g: &Geom, i: &[f32], o: &mut [f32]) {
    for (oy, orow) in o.chunks_exact_mut(g.ow).enumerate() {
        let r0 = &i[2 * oy * g.w..][..2 * g.ow];
        let r1 = &i[(2 * oy + 1) * g.w..][..2 * g.ow];
        for ((v, a), b) in orow
            .iter_mut()
            .zip(r0.chunks_exact(2))
            .zip(r1.chunks_exact(2))
        {
            *v = argmax_2x2(a, b).0;
        }
    }
}

/// [`max_pool2d_pullback`] on one plane of a zeroed `d`, 2x2 windows, stride 2,
/// no padding. The windows do not overlap, so each window's gradient is stored
/// (not added) at its maximum's address, and the rest of `d` keeps its 0.
///
/// Runs in two passes over blocks of windows, first the argmax positions, then
/// the stores: interleaving the reads of `x` with the writes of `d` ran 5x
/// slower (the two buffers are equally sized and so equally aligned, and the
/// loads kept waiting on stores that look like the same address to the CPU).
/// The store address is computed rather than chosen with `if`s, which LLVM
/// compiles into jumps that mispredict on every other window.
fn max_pool_2x2_pullback(g: &Geom, x: &[f32], gy: &[f32], d: &mut [f32]) {
    const BLOCK: usize = 64;
    let mut ks = [0usize; BLOCK];
    for (oy, grow) in gy.chunks_exact(g.ow).enumerate() {
        let top = 2 * oy * g.w;
        let r0 = &x[top..][..2 * g.ow];
        let r1 = &x[top + g.w..][..2 * g.ow];
        let rows = &mut d[top..][..g.w + 2 * g.ow];
        for (b, gb) in grow.chunks(BLOCK).enumerate() {
            let first = b * BLOCK;
            let span = 2 * first..2 * (first + gb.len());
            let windows = r0[span.clone()]
                .chunks_exact(2)
                .zip(r1[span].chunks_exact(2));
            for (k, (a, c)) in ks.iter_mut().zip(windows) {
                *k = argmax_2x2(a, c).1;
            }
            for (j, (&gv, &k)) in gb.iter().zip(&ks).enumerate() {
                rows[(k >> 1) * g.w + 2 * (first + j) + (k & 1)] = gv;
            }
        }
    }
}

/// Runs `f(in_plane, out_plane)` for every `(n, c)` plane pair, in parallel.
fn planes<F>(input: &[f32], ilen: usize, out: &mut [f32], olen: usize, f: F)
where
    F: Fn(&[f32], &mut [f32]) + Sync,
{
    if ilen == 0 || olen == 0 {
        return;
    }
    parallel(|t| {
        if t > 1 {
            out.par_chunks_mut(olen)
                .zip(input.par_chunks(ilen))
                .for_each(|(o, i)| f(i, o));
        } else {
            out.chunks_mut(olen)
                .zip(input.chunks(ilen))
                .for_each(|(o, i)| f(i, o));
        }
    })
}

/// Max pooling. Padding never wins (it acts as `-inf`). Not differentiable in
/// `params`.
///
/// # Panics
/// If `x` is not rank 4, or `params` is invalid for its size (see
/// [`pool2d_output_size`]).
pub fn max_pool2d(x: &Tensor, params: Pool2dParams) -> Tensor {
    let g = Geom::new("max_pool2d", x, params);
    let shape = g.out_shape(x);
    let mut out = vec![0f32; shape_numel(&shape)];
    let fast = g.is_2x2();
    planes(&x.data, g.h * g.w, &mut out, g.oh * g.ow, |i, o| {
        if fast {
            return max_pool_2x2(&g, i, o);
        }
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                o[oy * g.ow + ox] = i[g.argmax(i, oy, ox)];
            }
        }
    });
    Tensor::from_vec(out, &shape)
}

/// Returns `grad_x`: each window's gradient goes to the FIRST maximum in
/// row-major scan order of that window (ties never split), accumulating where
/// overlapping windows pick the same element.
///
/// # Panics
/// As [`max_pool2d`], or if `grad_y` does not have the output's shape.
pub fn max_pool2d_pullback(
    x: &Tensor,
    params: Pool2dParams,
    _y: &Tensor,
    grad_y: &Tensor,
) -> Tensor {
    let g = Geom::new("max_pool2d_pullback", x, params);
    check_grad("max_pool2d_pullback", x, &g, grad_y);
    let mut dx = vec![0f32; x.numel()];
    let plane_in = g.h * g.w;
    let plane_out = g.oh * g.ow;
    parallel(|t| {
        let fast = g.is_2x2();
        let work = |(d, (xi, gy)): (&mut [f32], (&[f32], &[f32]))| {
            if fast {
                return max_pool_2x2_pullback(&g, xi, gy, d);
            }
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    d[g.argmax(xi, oy, ox)] += gy[oy * g.ow + ox];
                }
            }
        };
        if plane_in == 0 || plane_out == 0 {
            // Empty planes: nothing to route (and chunking by 0 would panic).
        } else if t > 1 {
            dx.par_chunks_mut(plane_in)
                .zip(
                    x.data
                        .par_chunks(plane_in)
                        .zip(grad_y.data.par_chunks(plane_out)),
                )
                .for_each(work);
        } else {
            dx.chunks_mut(plane_in)
                .zip(x.data.chunks(plane_in).zip(grad_y.data.chunks(plane_out)))
                .for_each(work);
        }
    });
    Tensor::from_vec(dx, &x.shape)
}

fn check_grad(op: &str, x: &Tensor, g: &Geom, grad_y: &Tensor) {
    let expected = g.out_shape(x);
    assert!(
        grad_y.shape == expected,
        "{op}: input {:?}: grad_y has shape {:?}, expected {expected:?}",
        x.shape,
        grad_y.shape
    );
}

/// Average pooling. Padding counts as zeros in the average and every window is
/// divided by `kh * kw` (PyTorch's default `count_include_pad=True`), so border
/// windows are biased towards 0. Not differentiable in `params`.
///
/// # Panics
/// If `x` is not rank 4, or `params` is invalid for its size (see
/// [`pool2d_output_size`]).
pub fn avg_pool2d(x: &Tensor, params: Pool2dParams) -> Tensor {
    let g = Geom::new("avg_pool2d", x, params);
    let shape = g.out_shape(x);
    let area = (params.kernel.0 * params.kernel.1) as f32;
    let mut out = vec![0f32; shape_numel(&shape)];
    planes(&x.data, g.h * g.w, &mut out, g.oh * g.ow, |i, o| {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let (ys, ye, xs, xe) = g.window(oy, ox);
                let mut s = 0.0;
                for iy in ys..ye {
                    s += i[iy * g.w + xs..iy * g.w + xe].iter().sum::<f32>();
                }
                o[oy * g.ow + ox] = s / area;
            }
        }
    });
    Tensor::from_vec(out, &shape)
}

/// Returns `grad_x`: each window spreads `grad / (kh * kw)` over its in-bounds
/// elements (the share of the padding is dropped).
///
/// # Panics
/// As [`avg_pool2d`], or if `grad_y` does not have the output's shape.
pub fn avg_pool2d_pullback(
    x: &Tensor,
    params: Pool2dParams,
    _y: &Tensor,
    grad_y: &Tensor,
) -> Tensor {
    let g = Geom::new("avg_pool2d_pullback", x, params);
    check_grad("avg_pool2d_pullback", x, &g, grad_y);
    let area = (params.kernel.0 * params.kernel.1) as f32;
    let mut dx = vec![0f32; x.numel()];
    // `planes` maps input planes to output planes; here grad_y planes are the
    // input and dx planes the output.
    planes(&grad_y.data, g.oh * g.ow, &mut dx, g.h * g.w, |gy, d| {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let v = gy[oy * g.ow + ox] / area;
                let (ys, ye, xs, xe) = g.window(oy, ox);
                for iy in ys..ye {
                    d[iy * g.w + xs..iy * g.w + xe]
                        .iter_mut()
                        .for_each(|e| *e += v);
                }
            }
        }
    });
    Tensor::from_vec(dx, &x.shape)
}
