//! What the tests and benchmarks share: a high-order finite-difference
//! gradient and a best-of-runs timer.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Fourth-order central differences, `h = 1e-3`: truncation ≈ h⁴ f⁽⁵⁾/30,
/// rounding ≈ ε|f|/h, both far below 1e-8 of the gradients checked here.
pub fn fd(f: impl Fn(&[f64]) -> f64, p: &[f64]) -> Vec<f64> {
    let h = 1e-3;
    let mut q = p.to_vec();
    (0..p.len())
        .map(|i| {
            let mut at = |t: f64| {
                q[i] = p[i] + t;
                let v = f(&q);
                q[i] = p[i];
                v
            };
            (-at(2.0 * h) + 8.0 * at(h) - 8.0 * at(-h) + at(-2.0 * h)) / (12.0 * h)
        })
        .collect()
}

/// The fastest of repeated runs of `f` filling `budget` (at least 3), in
/// seconds.
pub fn time<R>(budget: Duration, mut f: impl FnMut() -> R) -> f64 {
    let start = Instant::now();
    let mut best = f64::INFINITY;
    let mut runs = 0;
    while runs < 3 || start.elapsed() < budget {
        let t = Instant::now();
        black_box(f());
        best = best.min(t.elapsed().as_secs_f64());
        runs += 1;
    }
    best
}
