//! GMM benchmark over ADBench's grid: objective, `#[grad]` gradient and the
//! hand-written gradient, side by side in one process, for the three forms of
//! the objective (`gmm_objective`, `gmm_objective_rowwise`, and
//! `gmm_objective_helpers`, which calls ADBench's helpers with output
//! parameters).
//!
//! ```sh
//! cargo run --release -p autodiff-adbench --example gmm_bench            # d × K grid, n = 1000, plus n = 10000
//! cargo run --release -p autodiff-adbench --example gmm_bench -- --quick # a subset, shorter timing
//! ```
//!
//! Instances are written to (and read back from) `autodiff-adbench/data/`
//! (git-ignored) in ADBench's text format; the values and times go to
//! `data/gmm_results.tsv` for `bench/compare.py`. Each time is the minimum over
//! repeated runs filling a time budget (at least 3 runs).

use autodiff_adbench::gmm::{
    gmm_objective, gmm_objective_grad, gmm_objective_rowwise, gmm_objective_rowwise_grad,
};
use autodiff_adbench::gmm_helpers::{gmm_objective_helpers, gmm_objective_helpers_grad};
use autodiff_adbench::hand::gmm_objective_grad_hand;
use autodiff_adbench::instances::{GmmInstance, GMM_D, GMM_K};
use autodiff_adbench::support::time;
use std::hint::black_box;
use std::time::Duration;

fn fmt(s: f64) -> String {
    if s < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let budget = Duration::from_millis(if quick { 100 } else { 400 });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");

    let mut sizes: Vec<(usize, usize, usize)> = Vec::new();
    if quick {
        for &(d, k) in &[(2, 5), (10, 25), (20, 50), (32, 100), (64, 10)] {
            sizes.push((d, k, 1000));
        }
    } else {
        for &d in &GMM_D {
            for &k in &GMM_K {
                sizes.push((d, k, 1000));
            }
        }
        for &(d, k) in &[(2, 100), (10, 50), (20, 25), (64, 5)] {
            sizes.push((d, k, 10_000));
        }
    }

    println!(
        "| d | K | n | objective | `#[grad]` | by hand | grad/obj | hand/obj | `#[grad]`/hand \
         | row-wise obj | row-wise `#[grad]` | rw grad/rw obj | rw `#[grad]`/hand \
         | helpers obj | helpers `#[grad]` | hp grad/hp obj | hp `#[grad]`/hand |"
    );
    println!("|{}", " --- |".repeat(17));
    let mut tsv = String::from("d\tk\tn\tvalue\tt_obj\tt_grad\tt_hand\tt_rw_obj\tt_rw_grad\n");
    let mut worst = (0.0f64, 0.0f64);
    let mut worst_rw = (0.0f64, 0.0f64);
    let mut worst_hp = (0.0f64, 0.0f64);
    for (d, k, n) in sizes {
        let g = GmmInstance::load_or_generate(&dir, d, k, n);
        // One instance, fed to each of the five functions alike.
        macro_rules! on_instance {
            ($f:path) => {
                $f(
                    d,
                    k,
                    n,
                    black_box(&g.alphas[..]),
                    &g.means,
                    &g.icf,
                    &g.x,
                    g.gamma,
                    g.m,
                )
            };
        }
        // Agreement first.
        let f = on_instance!(gmm_objective);
        let (fg, (ga, gm, gq)) = on_instance!(gmm_objective_grad);
        let (fh, (ha, hm, hq)) = on_instance!(gmm_objective_grad_hand);
        assert_eq!(f.to_bits(), fg.to_bits());
        assert!((f - fh).abs() <= 1e-10 * f.abs(), "{f} vs {fh}");
        let hand: Vec<f64> = ha.iter().chain(&hm).chain(&hq).copied().collect();
        let scale = hand.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let agrees = |ours: Vec<f64>| {
            for (a, b) in ours.iter().zip(&hand) {
                assert!(
                    (a - b).abs() <= 1e-8 * b.abs().max(1e-6 * scale),
                    "{a} vs {b}"
                );
            }
        };
        agrees([ga, gm, gq].concat());
        let (fr, (ra, rm, rq)) = on_instance!(gmm_objective_rowwise_grad);
        assert!((f - fr).abs() <= 1e-10 * f.abs(), "{f} vs {fr}");
        agrees([ra, rm, rq].concat());
        let (fc, (ca, cm, cq)) = on_instance!(gmm_objective_helpers_grad);
        assert!((f - fc).abs() <= 1e-10 * f.abs(), "{f} vs {fc}");
        agrees([ca, cm, cq].concat());

        let t_obj = time(budget, || on_instance!(gmm_objective));
        let t_grad = time(budget, || on_instance!(gmm_objective_grad));
        let t_hand = time(budget, || on_instance!(gmm_objective_grad_hand));
        let t_robj = time(budget, || on_instance!(gmm_objective_rowwise));
        let t_rgrad = time(budget, || on_instance!(gmm_objective_rowwise_grad));
        let t_cobj = time(budget, || on_instance!(gmm_objective_helpers));
        let t_cgrad = time(budget, || on_instance!(gmm_objective_helpers_grad));
        tsv += &format!(
            "{d}\t{k}\t{n}\t{f:e}\t{t_obj:e}\t{t_grad:e}\t{t_hand:e}\t{t_robj:e}\t{t_rgrad:e}\n"
        );
        let (r1, r2, r3) = (t_grad / t_obj, t_hand / t_obj, t_grad / t_hand);
        worst = (worst.0.max(r1), worst.1.max(r3));
        worst_rw = (
            worst_rw.0.max(t_rgrad / t_robj),
            worst_rw.1.max(t_rgrad / t_hand),
        );
        worst_hp = (
            worst_hp.0.max(t_cgrad / t_cobj),
            worst_hp.1.max(t_cgrad / t_hand),
        );
        println!(
            "| {d} | {k} | {n} | {} | {} | {} | {r1:.2} | {r2:.2} | {r3:.2} | {} | {} | {:.2} | {:.2} | {} | {} | {:.2} | {:.2} |",
            fmt(t_obj),
            fmt(t_grad),
            fmt(t_hand),
            fmt(t_robj),
            fmt(t_rgrad),
            t_rgrad / t_robj,
            t_rgrad / t_hand,
            fmt(t_cobj),
            fmt(t_cgrad),
            t_cgrad / t_cobj,
            t_cgrad / t_hand,
        );
    }
    println!(
        "\nworst `#[grad]`/objective: {:.2} (target ≤ 3); worst `#[grad]`/hand: {:.2} (target ≤ 1.2)",
        worst.0, worst.1
    );
    // For bench/compare.py: values (to check the constants) and our times.
    let _ = std::fs::write(dir.join("gmm_results.tsv"), tsv);
    println!(
        "row-wise form: worst `#[grad]`/objective {:.2}, worst `#[grad]`/hand {:.2}",
        worst_rw.0, worst_rw.1
    );
    println!(
        "helpers form: worst `#[grad]`/objective {:.2}, worst `#[grad]`/hand {:.2}",
        worst_hp.0, worst_hp.1
    );
}
