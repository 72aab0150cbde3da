//! conv2d and pooling: output sizes from the lecture, a naive direct-loop
//! reference, and pullbacks against finite differences (tolerances are described
//! in `common/mod.rs`; conv and average pooling are linear in each input and
//! bilinear jointly, so the central difference is exact up to rounding and a large
//! `h` is used).

mod common;

use autodiff_runtime::tensor::*;
use common::{distinct, GradCheck};

/// Direct seven-loop convolution in f64, PyTorch semantics.
fn naive_conv(x: &Tensor, w: &Tensor, b: Option<&Tensor>, p: Conv2dParams) -> Tensor {
    let [n, c, h, wd] = x.shape().try_into().unwrap();
    let [o, cg, kh, kw] = w.shape().try_into().unwrap();
    let g = p.groups;
    let og = o / g;
    let oh = (h + 2 * p.padding.0 - p.dilation.0 * (kh - 1) - 1) / p.stride.0 + 1;
    let ow = (wd + 2 * p.padding.1 - p.dilation.1 * (kw - 1) - 1) / p.stride.1 + 1;
    assert_eq!(c, cg * g);
    let mut out = Tensor::zeros(&[n, o, oh, ow]);
    for ni in 0..n {
        for oc in 0..o {
            let grp = oc / og;
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut s = b.map_or(0.0, |b| b.data()[oc] as f64);
                    for ci in 0..cg {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (oy * p.stride.0 + ky * p.dilation.0) as isize
                                    - p.padding.0 as isize;
                                let ix = (ox * p.stride.1 + kx * p.dilation.1) as isize
                                    - p.padding.1 as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                    continue;
                                }
                                let xv = x.at(&[ni, grp * cg + ci, iy as usize, ix as usize]);
                                s += xv as f64 * w.at(&[oc, ci, ky, kx]) as f64;
                            }
                        }
                    }
                    let off = out.offset(&[ni, oc, oy, ox]);
                    out.data_mut()[off] = s as f32;
                }
            }
        }
    }
    out
}

fn params(
    stride: (usize, usize),
    pad: (usize, usize),
    dil: (usize, usize),
    g: usize,
) -> Conv2dParams {
    Conv2dParams {
        stride,
        padding: pad,
        dilation: dil,
        groups: g,
    }
}

/// (x shape, w shape, params) covering stride 2 + padding 1, dilation 2, groups 2,
/// asymmetric settings and odd sizes.
fn cases() -> Vec<([usize; 4], [usize; 4], Conv2dParams)> {
    vec![
        ([2, 3, 7, 7], [4, 3, 3, 3], Conv2dParams::default()),
        ([2, 3, 7, 6], [5, 3, 3, 3], Conv2dParams::square(2, 1, 1, 1)),
        ([1, 2, 9, 8], [3, 2, 3, 3], Conv2dParams::square(1, 0, 2, 1)),
        ([2, 4, 6, 5], [6, 2, 3, 2], Conv2dParams::square(1, 1, 1, 2)),
        (
            [3, 4, 11, 10],
            [4, 1, 3, 3],
            params((2, 1), (0, 2), (1, 2), 4),
        ),
        ([2, 1, 5, 5], [2, 1, 5, 5], Conv2dParams::square(1, 0, 1, 1)),
        ([1, 2, 4, 4], [3, 2, 1, 1], Conv2dParams::square(3, 2, 1, 1)),
        // 324 output pixels: several images per GEMM, with an uneven last chunk.
        ([7, 2, 20, 20], [3, 2, 3, 3], Conv2dParams::default()),
    ]
}

#[test]
fn output_sizes_from_the_lecture() {
    // (N - F + 2P)/S + 1
    assert_eq!(conv2d_output_size(7, 3, 1, 0, 1), 5);
    assert_eq!(conv2d_output_size(7, 3, 2, 0, 1), 3);
    // stride 3 does not fit 7x7 with 3x3; like PyTorch we floor (7-3)/3+1 = 2.33.
    assert_eq!(conv2d_output_size(7, 3, 3, 0, 1), 2);
    // zero padding keeps the size: F=3,P=1; F=5,P=2; F=7,P=3.
    assert_eq!(conv2d_output_size(7, 3, 1, 1, 1), 7);
    assert_eq!(conv2d_output_size(7, 5, 1, 2, 1), 7);
    assert_eq!(conv2d_output_size(7, 7, 1, 3, 1), 7);
    // 32x32x3 input, 10 5x5 filters, stride 1, pad 2 -> 32x32x10.
    let x = randn(&[1, 3, 32, 32], 1);
    let w = randn(&[10, 3, 5, 5], 2);
    let y = conv2d(&x, &w, None, Conv2dParams::square(1, 2, 1, 1));
    assert_eq!(y.shape(), &[1, 10, 32, 32]);
    // 32x32 with 5x5 and no padding -> 28x28 (LeNet's first layer).
    assert_eq!(conv2d_output_size(32, 5, 1, 0, 1), 28);
    // dilation 2 spans 5 pixels with a 3x3 kernel.
    assert_eq!(conv2d_output_size(9, 3, 1, 0, 2), 5);
}

#[test]
fn conv_matches_naive_reference() {
    for (i, (xs, ws, p)) in cases().into_iter().enumerate() {
        let x = randn(&xs, i as u64);
        let w = randn(&ws, 100 + i as u64);
        let b = randn(&[ws[0]], 200 + i as u64);
        let r = naive_conv(&x, &w, Some(&b), p);
        for threads in [1, 2] {
            let y = with_threads(threads, || conv2d(&x, &w, Some(&b), p));
            assert_eq!(y.shape(), r.shape(), "case {i}");
            assert!(
                y.allclose(&r, 1e-4, 1e-4),
                "case {i}: max diff {}",
                y.max_abs_diff(&r)
            );
        }
        let y = conv2d(&x, &w, None, p);
        assert!(y.allclose(&naive_conv(&x, &w, None, p), 1e-4, 1e-4));
    }
}

#[test]
fn conv_pullbacks() {
    for (i, (xs, ws, p)) in cases().into_iter().enumerate() {
        let x = randn(&xs, i as u64);
        let w = randn(&ws, 100 + i as u64);
        let b = randn(&[ws[0]], 200 + i as u64);
        for threads in [1, 2] {
            with_threads(threads, || {
                GradCheck::h(0.5).run(
                    &format!("conv2d case {i} threads {threads}"),
                    &[x.clone(), w.clone(), b.clone()],
                    |t| conv2d(&t[0], &t[1], Some(&t[2]), p),
                    |t, y, g| {
                        let (dx, dw, db) = conv2d_pullback(&t[0], &t[1], Some(&t[2]), p, y, g);
                        vec![dx, dw, db.expect("bias given, so a bias gradient")]
                    },
                )
            });
        }
        let y = conv2d(&x, &w, None, p);
        let (_, _, db) = conv2d_pullback(&x, &w, None, p, &y, &y);
        assert!(db.is_none());
    }
}

#[test]
fn conv_pullback_independent_of_thread_count() {
    let x = randn(&[5, 4, 9, 9], 1);
    let w = randn(&[6, 4, 3, 3], 2);
    let p = Conv2dParams::square(1, 1, 1, 1);
    let y = conv2d(&x, &w, None, p);
    let g = randn(y.shape(), 3);
    let (a1, b1, _) = with_threads(1, || conv2d_pullback(&x, &w, None, p, &y, &g));
    let (a2, b2, _) = with_threads(2, || conv2d_pullback(&x, &w, None, p, &y, &g));
    assert!(a1.allclose(&a2, 1e-5, 1e-5));
    assert!(b1.allclose(&b2, 1e-4, 1e-4));
}

#[test]
#[should_panic(expected = "conv2d: input [2, 3, 8, 8], weight [4, 2, 3, 3], groups 1")]
fn conv_channel_mismatch() {
    let _ = conv2d(
        &Tensor::zeros(&[2, 3, 8, 8]),
        &Tensor::zeros(&[4, 2, 3, 3]),
        None,
        Conv2dParams::default(),
    );
}

#[test]
#[should_panic(
    expected = "conv2d: input [1, 1, 8, 8], weight [4, 1, 3, 3]: bias has shape [3], expected [4]"
)]
fn conv_bias_mismatch() {
    let _ = conv2d(
        &Tensor::zeros(&[1, 1, 8, 8]),
        &Tensor::zeros(&[4, 1, 3, 3]),
        Some(&Tensor::zeros(&[3])),
        Conv2dParams::default(),
    );
}

#[test]
#[should_panic(expected = "conv2d: kernel of size 5 (dilation 1) does not fit an input of size 4")]
fn conv_kernel_too_big() {
    let _ = conv2d(
        &Tensor::zeros(&[1, 1, 4, 4]),
        &Tensor::zeros(&[1, 1, 5, 5]),
        None,
        Conv2dParams::default(),
    );
}

#[test]
fn max_pool_values_and_ties() {
    // 4x4 plane, 2x2 windows, stride 2.
    let x = Tensor::from_vec(
        vec![
            1., 3., 2., 2., //
            4., 3., 2., 2., //
            0., 0., 5., 1., //
            0., 0., 1., 5.,
        ],
        &[1, 1, 4, 4],
    );
    let p = Pool2dParams::square(2, 2, 0);
    let y = max_pool2d(&x, p);
    assert_eq!(y.data(), &[4., 2., 0., 5.]);
    let g = Tensor::from_vec(vec![10., 20., 30., 40.], &[1, 1, 2, 2]);
    let dx = max_pool2d_pullback(&x, p, &y, &g);
    // Ties go to the first maximum in scan order: window 2 (all 2s) -> (0, 2),
    // window 3 (all 0s) -> (2, 0), window 4 (5 twice) -> (2, 2).
    assert_eq!(
        dx.data(),
        &[
            0., 0., 20., 0., //
            10., 0., 0., 0., //
            30., 0., 40., 0., //
            0., 0., 0., 0.
        ]
    );
}

#[test]
fn pool_padding_semantics() {
    let x = Tensor::from_vec(vec![-1., -2., -3., -4.], &[1, 1, 2, 2]);
    let p = Pool2dParams::square(2, 1, 1);
    // Max pooling never picks the padding, even when every input is negative.
    let y = max_pool2d(&x, p);
    assert_eq!(y.shape(), &[1, 1, 3, 3]);
    assert_eq!(y.data(), &[-1., -1., -2., -1., -1., -2., -3., -3., -4.]);
    // Average pooling counts padded zeros (count_include_pad=True): corner = x/4.
    let a = avg_pool2d(&x, p);
    assert_eq!(a.data()[0], -0.25);
    assert_eq!(a.data()[4], -2.5);
}

#[test]
fn pool_pullbacks_with_overlap() {
    let shapes: &[([usize; 4], Pool2dParams)] = &[
        ([2, 3, 7, 7], Pool2dParams::square(3, 2, 0)),
        ([1, 2, 8, 9], Pool2dParams::square(3, 2, 1)),
        ([2, 2, 6, 6], Pool2dParams::square(2, 2, 0)),
        (
            [1, 3, 5, 7],
            Pool2dParams {
                kernel: (2, 3),
                stride: (1, 2),
                padding: (1, 1),
            },
        ),
    ];
    for (i, &(s, p)) in shapes.iter().enumerate() {
        let x = distinct(&s, 0.05, i as u64);
        for threads in [1, 2] {
            with_threads(threads, || {
                GradCheck::h(1e-3).run(
                    "max_pool2d",
                    std::slice::from_ref(&x),
                    |t| max_pool2d(&t[0], p),
                    |t, y, g| vec![max_pool2d_pullback(&t[0], p, y, g)],
                );
                GradCheck::h(0.5).run(
                    "avg_pool2d",
                    std::slice::from_ref(&x),
                    |t| avg_pool2d(&t[0], p),
                    |t, y, g| vec![avg_pool2d_pullback(&t[0], p, y, g)],
                );
            });
        }
    }
}

#[test]
fn overlapping_max_pool_accumulates() {
    // One large value shared by all four overlapping 3x3/stride-2 windows.
    let mut x = Tensor::zeros(&[1, 1, 5, 5]);
    let off = x.offset(&[0, 0, 2, 2]);
    x.data_mut()[off] = 9.0;
    let p = Pool2dParams::square(3, 2, 0);
    let y = max_pool2d(&x, p);
    assert_eq!(y.data(), &[9., 9., 9., 9.]);
    let dx = max_pool2d_pullback(&x, p, &y, &Tensor::ones(&[1, 1, 2, 2]));
    assert_eq!(dx.at(&[0, 0, 2, 2]), 4.0);
    assert_eq!(dx.data().iter().sum::<f32>(), 4.0);
}

#[test]
#[should_panic(expected = "pool2d: padding 2 must be at most half the kernel size 3")]
fn pool_padding_too_big() {
    let _ = max_pool2d(&Tensor::zeros(&[1, 1, 5, 5]), Pool2dParams::square(3, 1, 2));
}

#[test]
#[should_panic(expected = "max_pool2d: input must be rank 4 [N, C, H, W], got shape [5, 5]")]
fn pool_rank() {
    let _ = max_pool2d(&Tensor::zeros(&[5, 5]), Pool2dParams::square(2, 2, 0));
}

/// Max pooling and its pullback by definition: the first maximum of each window
/// in row-major scan order, NaN beating any number. The 2x2/stride-2 kernel is
/// a separate code path from the general one and must agree with this exactly.
fn naive_max_pool(x: &Tensor, k: usize, s: usize, g: &Tensor) -> (Tensor, Tensor) {
    let [n, c, h, w] = <[usize; 4]>::try_from(x.shape()).unwrap();
    let (oh, ow) = ((h - k) / s + 1, (w - k) / s + 1);
    let mut y = Tensor::zeros(&[n, c, oh, ow]);
    let mut dx = Tensor::zeros(x.shape());
    for ni in 0..n {
        for ci in 0..c {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut best = [ni, ci, oy * s, ox * s];
                    for iy in oy * s..oy * s + k {
                        for ix in ox * s..ox * s + k {
                            let (v, b) = (x.at(&[ni, ci, iy, ix]), x.at(&best));
                            if v > b || (v.is_nan() && !b.is_nan()) {
                                best = [ni, ci, iy, ix];
                            }
                        }
                    }
                    let o = y.offset(&[ni, ci, oy, ox]);
                    y.data_mut()[o] = x.at(&best);
                    let d = dx.offset(&best);
                    dx.data_mut()[d] += g.data()[o];
                }
            }
        }
    }
    (y, dx)
}

#[test]
fn max_pool_2x2_matches_definition() {
    let p = Pool2dParams::square(2, 2, 0);
    // Odd sizes leave a row and a column outside every window; the rounded
    // values make ties common; a few NaNs must win their windows.
    for (i, shape) in [[2, 3, 8, 8], [1, 2, 7, 9], [3, 1, 2, 2], [1, 1, 5, 300]]
        .into_iter()
        .enumerate()
    {
        let mut x = randn(&shape, 40 + i as u64).map(|v| (v * 2.0).round().max(0.0));
        x.data_mut()[3] = f32::NAN;
        let last = x.numel() - 5;
        x.data_mut()[last] = f32::NAN;
        let y = max_pool2d(&x, p);
        let g = randn(y.shape(), 50 + i as u64);
        let (ry, rdx) = naive_max_pool(&x, 2, 2, &g);
        let bits = |t: &Tensor| t.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&y), bits(&ry), "forward {shape:?}");
        for threads in [1, 2] {
            let dx = with_threads(threads, || max_pool2d_pullback(&x, p, &y, &g));
            assert_eq!(
                bits(&dx),
                bits(&rdx),
                "pullback {shape:?} threads {threads}"
            );
        }
    }
}
