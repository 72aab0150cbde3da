//! Kernel timings, one JSON object per line, for `bench/compare.py`.
//!
//! `cargo run --release -p autodiff-runtime --example kernels_bench [-- --quick]`
//!
//! Each measurement runs a warm-up, then reports the median of several runs, so
//! a single scheduler hiccup does not move the number. Thread counts are set with
//! `with_threads`, which also sizes the GEMM kernels.

use std::time::Instant;

use autodiff_runtime::tensor::{
    conv2d, conv2d_pullback, matmul, randn, with_threads, Conv2dParams, Tensor,
};

fn median_secs(reps: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..2 {
        f();
    }
    let mut ts: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    ts.sort_by(f64::total_cmp);
    ts[ts.len() / 2]
}

/// Keeps every worker of the current pool busy for 200 ms before measuring.
///
/// On a VM an idle vCPU is halted by the host, and the first few hundred
/// milliseconds of wake-ups after a long single-threaded phase are slow; numpy and
/// PyTorch in `compare.py` start each thread count in a fresh process, so this
/// gives the Rust side the same warmed-up start rather than timing the host.
fn wake_workers() {
    let until = Instant::now() + std::time::Duration::from_millis(200);
    rayon::broadcast(|_| {
        while Instant::now() < until {
            std::hint::spin_loop();
        }
    });
}

struct Layer {
    name: &'static str,
    x: [usize; 4],
    w: [usize; 4],
}

const LAYERS: [Layer; 2] = [
    Layer {
        name: "lenet_conv1",
        x: [64, 1, 28, 28],
        w: [20, 1, 5, 5],
    },
    Layer {
        name: "lenet_conv2",
        x: [64, 20, 12, 12],
        w: [50, 20, 5, 5],
    },
];

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = if quick { 1 } else { 3 };
    for threads in [1usize, 2] {
        with_threads(threads, || {
            wake_workers();
            for n in [256usize, 512, 1024] {
                let a = randn(&[n, n], 1);
                let b = randn(&[n, n], 2);
                let reps = scale * if n >= 1024 { 3 } else { 7 };
                let s = median_secs(reps, || {
                    std::hint::black_box(matmul(&a, &b));
                });
                let gflops = 2.0 * (n * n * n) as f64 / s / 1e9;
                println!(
                    "{{\"kernel\":\"matmul\",\"m\":{n},\"k\":{n},\"n\":{n},\"threads\":{threads},\
                     \"ms\":{:.4},\"gflops\":{gflops:.2}}}",
                    s * 1e3
                );
            }
            for l in &LAYERS {
                let x = randn(&l.x, 3);
                let w = randn(&l.w, 4);
                let bias = randn(&[l.w[0]], 5);
                let p = Conv2dParams::default();
                let reps = scale * 7;
                let fwd = median_secs(reps, || {
                    std::hint::black_box(conv2d(&x, &w, Some(&bias), p));
                });
                let y = conv2d(&x, &w, Some(&bias), p);
                let g = randn(y.shape(), 6);
                let bwd = median_secs(reps, || {
                    std::hint::black_box(conv2d_pullback(&x, &w, Some(&bias), p, &y, &g));
                });
                for (kernel, s) in [("conv2d_forward", fwd), ("conv2d_backward", bwd)] {
                    println!(
                        "{{\"kernel\":\"{kernel}\",\"layer\":\"{}\",\"x\":{:?},\"w\":{:?},\
                         \"threads\":{threads},\"ms\":{:.4}}}",
                        l.name,
                        l.x,
                        l.w,
                        s * 1e3
                    );
                }
                let _: &Tensor = &y;
            }
        });
    }
}
