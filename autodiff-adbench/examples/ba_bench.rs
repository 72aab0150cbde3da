//! Bundle-adjustment benchmark: the residuals, the sparse Jacobian from two
//! `#[grad]` pullbacks per observation, and the whole-problem loss `½‖r‖²`
//! with its gradient from one `#[grad]` (sub-slices passed per observation).
//!
//! ```sh
//! cargo run --release -p autodiff-adbench --example ba_bench            # sizes of ADBench's ba1..ba3 (p ≤ 182,072)
//! cargo run --release -p autodiff-adbench --example ba_bench -- --quick # ba1's size only
//! ```
//!
//! Instances are drawn by `BaInstance::generate` (distinct cameras, points,
//! weights and features) with ADBench's `n m p`; ADBench's own files hold one
//! camera, point, weight and feature, replicated. Each time is the minimum
//! over repeated runs filling a time budget (at least 3 runs).

use autodiff_adbench::ba::{ba_half_sq_loss, ba_half_sq_loss_grad, ba_jacobian, ba_objective};
use autodiff_adbench::instances::BaInstance;
use autodiff_adbench::support::time;
use std::hint::black_box;
use std::time::Duration;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let budget = Duration::from_millis(if quick { 200 } else { 500 });
    // (n, m, p) of ADBench's ba1, ba2 and ba3.
    let sizes: &[(usize, usize, usize)] = if quick {
        &[(49, 7776, 31843)]
    } else {
        &[(49, 7776, 31843), (21, 11315, 36455), (161, 48126, 182072)]
    };
    println!("| n | m | p | residuals | Jacobian (2 pullbacks / obs) | Jacobian/residuals | per observation | ½‖r‖² | its gradient | gradient/loss |");
    println!("|{}", " --- |".repeat(10));
    for &(n, m, p) in sizes {
        let b = BaInstance::generate(n, m, p, 1);
        let t_obj = time(budget, || ba_objective(black_box(&b)));
        let t_jac = time(budget, || ba_jacobian(black_box(&b)));
        let obs = b.flat_obs();
        let loss = || ba_half_sq_loss(&b.cams, &b.x, &b.w, &b.feats, black_box(&obs));
        let t_loss = time(budget, loss);
        let grad = || ba_half_sq_loss_grad(&b.cams, &b.x, &b.w, &b.feats, black_box(&obs));
        let t_grad = time(budget, grad);
        println!(
            "| {n} | {m} | {p} | {:.2} ms | {:.2} ms | {:.2} | {:.0} ns | {:.2} ms | {:.2} ms | {:.2} |",
            t_obj * 1e3,
            t_jac * 1e3,
            t_jac / t_obj,
            t_jac / p as f64 * 1e9,
            t_loss * 1e3,
            t_grad * 1e3,
            t_grad / t_loss
        );
    }
}
