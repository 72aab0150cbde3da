//! Differential test: every generated program's `pK_grad` against central
//! finite differences of `pK`, and its value against `pK` bit for bit.
//!
//! Points near kinks are skipped soundly: each program has an instrumented
//! twin `pK_kd` that records, at every comparison and `max`/`min`/`abs`/`relu`,
//! the distance to the kink and the outcome (a branch signature). A point is
//! skipped when a kink is closer than `MARGIN`; a finite-difference estimate
//! is discarded when any probe `x ± h e_i` has a different branch signature
//! from `x` (it straddles a kink), and retried with a smaller step.

use autodiff::check::GradCheck;
use std::cell::Cell;

#[allow(
    unused,
    unused_parens,
    unused_mut,
    unused_assignments,
    unused_variables,
    unreachable_code,
    non_snake_case,
    clippy::all
)]
mod programs {
    use autodiff::{grad, relu, sigmoid, softplus};
    include!(concat!(env!("OUT_DIR"), "/programs.rs"));
}

use programs::{Entry, PROGRAMS, SEED};

/// Distance to a kink below which a point is not used.
const MARGIN: f64 = 1e-6;
/// Finite-difference steps tried in turn (relative to `max(1, |x_i|)`).
const STEPS: [f64; 3] = [1e-6, 1e-7, 1e-5];
/// Values beyond this are "untame" and the point is skipped.
const TAME: f64 = 1e6;

fn points_per_program() -> usize {
    std::env::var("AUTODIFF_FUZZ_POINTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6)
}

/// SplitMix64 for the test points.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

enum Outcome {
    Checked,
    SkippedKink,
    SkippedUntame,
    /// Every step's probes straddled a kink.
    SkippedStraddle,
    Failed(String),
}

fn check_point(e: &Entry, f: &[f64], z: &[i64]) -> Outcome {
    let value = (e.value)(f, z);
    if !value.is_finite() || value.abs() > TAME {
        return Outcome::SkippedUntame;
    }
    let (_, kd, sig0) = (e.kink)(f, z);
    if kd < MARGIN {
        return Outcome::SkippedKink;
    }
    // A panic inside the generated adjoint is a failure of its own.
    let (gv, g) = match std::panic::catch_unwind(|| (e.grad)(f, z)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            return Outcome::Failed(format!("{}_grad panicked: {msg}", e.name));
        }
    };
    // Bit for bit in a debug build. With optimisations, Rust leaves the
    // precision of libm functions (`sin`, `powi`, ...) unspecified and LLVM
    // may evaluate a call at compile time in one function and at run time in
    // the other; the last-bit difference can grow a few ulps downstream
    // (seen: 5 ulps). Allow 1e-12 relative there.
    let same = if cfg!(debug_assertions) {
        gv.to_bits() == value.to_bits()
    } else {
        gv.to_bits() == value.to_bits() || (gv - value).abs() <= 1e-12 * gv.abs().max(value.abs())
    };
    if !same {
        return Outcome::Failed(format!(
            "value mismatch: {}_grad gives {gv:e}, {} gives {value:e}",
            e.name, e.name
        ));
    }
    if g.len() != f.len() {
        return Outcome::Failed(format!(
            "gradient has {} entries for {} inputs",
            g.len(),
            f.len()
        ));
    }
    if g.iter().any(|v| !v.is_finite()) {
        return Outcome::Failed(format!("non-finite gradient {g:?}"));
    }
    let mut first_report = None;
    let mut any_clean = false;
    for step in STEPS {
        let straddled = Cell::new(false);
        let fd = |q: &[f64]| {
            let (v, _, sig) = (e.kink)(q, z);
            if sig != sig0 {
                straddled.set(true);
            }
            v
        };
        let r = GradCheck::new()
            .step(step)
            .rel_tol(1e-5)
            .abs_tol(1e-6)
            .check(fd, f, &g);
        if straddled.get() {
            continue;
        }
        any_clean = true;
        match r {
            Ok(_) => return Outcome::Checked,
            Err(rep) => {
                first_report.get_or_insert((step, rep));
            }
        }
    }
    if !any_clean {
        return Outcome::SkippedStraddle;
    }
    let (step, rep) = first_report.unwrap();
    Outcome::Failed(format!(
        "gradient mismatch at every step tried (report for step {step:e}):\n{rep}"
    ))
}

#[test]
fn generated_programs_match_finite_differences() {
    std::panic::set_hook(Box::new(|_| {}));
    let start = std::time::Instant::now();
    let points = points_per_program();
    let (mut checked_points, mut kink, mut untame, mut straddle) = (0usize, 0usize, 0usize, 0usize);
    let mut programs_checked = 0usize;
    let mut failures: Vec<String> = Vec::new();
    let mut failed_programs = 0usize;
    for (k, e) in PROGRAMS.iter().enumerate() {
        let mut rng = Rng(SEED ^ (k as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
        let mut any = false;
        let mut failed = false;
        for _ in 0..points {
            let f: Vec<f64> = e
                .domains
                .iter()
                .map(|&(lo, hi)| lo + (hi - lo) * rng.unit())
                .collect();
            let z: Vec<i64> = e
                .ints
                .iter()
                .map(|&(lo, hi)| lo + (rng.next() % (hi - lo + 1) as u64) as i64)
                .collect();
            match check_point(e, &f, &z) {
                Outcome::Checked => {
                    checked_points += 1;
                    any = true;
                }
                Outcome::SkippedKink => kink += 1,
                Outcome::SkippedUntame => untame += 1,
                Outcome::SkippedStraddle => straddle += 1,
                Outcome::Failed(why) => {
                    if !failed {
                        failures.push(format!(
                            "==== {} FAILED at f = {f:?}, ints = {z:?}\n{why}\n---- source:\n{}",
                            e.name, e.source
                        ));
                    }
                    failed = true;
                }
            }
        }
        if any {
            programs_checked += 1;
        }
        if failed {
            failed_programs += 1;
        }
    }
    for f in failures.iter().take(10) {
        println!("{f}");
    }
    if failures.len() > 10 {
        println!("... and {} more failing programs", failures.len() - 10);
    }
    let n = PROGRAMS.len();
    println!(
        "autodiff-fuzz: seed {SEED}: {n} programs, {programs_checked} checked at >= 1 point, \
         {checked_points} points checked, skipped {kink} near a kink, {straddle} straddling, \
         {untame} untame; {failed_programs} programs failed; {:.1} s",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(failed_programs, 0, "{failed_programs} programs failed");
    assert!(
        programs_checked * 10 >= n * 8,
        "only {programs_checked} of {n} programs were checked at a point"
    );
}
