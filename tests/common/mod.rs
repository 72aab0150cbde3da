//! Shared test support: a deterministic point sampler and finite-difference
//! checks of generated gradients.
#![allow(dead_code)]

use autodiff::check::GradCheck;
use autodiff::runtime::tensor::Tensor;

/// Deterministic points: the runtime's SplitMix64 generator.
pub struct Rng(autodiff::runtime::tensor::Rng);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(autodiff::runtime::tensor::Rng::new(seed))
    }
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.0.next_f64()
    }
}

pub const POINTS: usize = 40;

/// Checks gradient `g` of `f` at the point `x` against central differences
/// (relative 1e-6, absolute 1e-7).
pub fn check_at(name: &str, f: impl Fn(&[f64]) -> f64, x: &[f64], g: &[f64]) {
    if let Err(r) = GradCheck::new().rel_tol(1e-6).abs_tol(1e-7).check(f, x, g) {
        panic!("{name}: gradient mismatch at {x:?}\n{r}");
    }
}

/// `n` deterministic values in [-1, 1) from `seed` (an LCG).
pub fn points(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// Checks `grad` (value and gradient) against central differences of `f` at
/// `POINTS` points drawn from `domain`, skipping points where `guard` fails
/// (near kinks). The value must equal `f` bit for bit.
pub fn check_f64(
    name: &str,
    f: impl Fn(&[f64]) -> f64,
    grad: impl Fn(&[f64]) -> (f64, Vec<f64>),
    domain: &[(f64, f64)],
    guard: impl Fn(&[f64]) -> bool,
) {
    let mut rng = Rng::new(0x5eed ^ name.len() as u64);
    let mut checked = 0;
    for _ in 0..POINTS * 4 {
        let x: Vec<f64> = domain.iter().map(|&(lo, hi)| rng.uniform(lo, hi)).collect();
        if !guard(&x) {
            continue;
        }
        let (value, g) = grad(&x);
        assert_eq!(
            value.to_bits(),
            f(&x).to_bits(),
            "{name}: value differs from f at {x:?}"
        );
        if let Err(report) = GradCheck::new().check(&f, &x, &g) {
            panic!("{name}: gradient mismatch at {x:?}\n{report}");
        }
        checked += 1;
        if checked == POINTS {
            return;
        }
    }
    panic!("{name}: only {checked} of {POINTS} points passed the guard");
}

/// The `f32` version of a function: its gradient is compared with the `f64`
/// version's central differences (relative 1e-3, absolute 1e-4: single
/// precision carries ~1e-7 relative error per operation, and the f64
/// reference is accurate to ~1e-9), and with `f32` central differences at
/// the looser [`GradCheck::f32`] tolerance.
pub fn check_f32(
    name: &str,
    f64_fn: impl Fn(&[f64]) -> f64,
    f32_fn: impl Fn(&[f32]) -> f32,
    grad: impl Fn(&[f32]) -> (f32, Vec<f32>),
    domain: &[(f64, f64)],
    guard: impl Fn(&[f64]) -> bool,
) {
    let mut rng = Rng::new(0xf32 ^ name.len() as u64);
    let mut checked = 0;
    for _ in 0..POINTS * 4 {
        let x: Vec<f64> = domain.iter().map(|&(lo, hi)| rng.uniform(lo, hi)).collect();
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let x = x32.iter().map(|&v| v as f64).collect::<Vec<_>>();
        if !guard(&x) {
            continue;
        }
        let (value, g) = grad(&x32);
        assert_eq!(
            value.to_bits(),
            f32_fn(&x32).to_bits(),
            "{name}: f32 value differs from f"
        );
        let g64: Vec<f64> = g.iter().map(|&v| v as f64).collect();
        let reference = GradCheck::new().rel_tol(1e-3).abs_tol(1e-4);
        if let Err(report) = reference.check(&f64_fn, &x, &g64) {
            panic!("{name}: f32 gradient vs f64 differences at {x:?}\n{report}");
        }
        if let Err(report) = GradCheck::f32().check(&f32_fn, &x32, &g) {
            panic!("{name}: f32 gradient vs f32 differences at {x:?}\n{report}");
        }
        checked += 1;
        if checked == POINTS {
            return;
        }
    }
    panic!("{name}: only {checked} of {POINTS} points passed the guard");
}

/// The generated code of the lecture examples is pinned: a change to the
/// emitted adjoint shows up as a diff of `tests/snapshots/*.rs` in review.
/// `UPDATE_SNAPSHOTS=1 cargo test` rewrites the files.
pub fn snapshot(name: &str, source: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.rs"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, source).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_SNAPSHOTS=1 to create it",
            path.display()
        )
    });
    assert!(
        expected == source,
        "generated code of `{name}` changed; review and run with UPDATE_SNAPSHOTS=1 to accept.\n--- expected\n{expected}\n--- generated\n{source}"
    );
}

/// Checks tensor gradients against central differences of `f` along
/// `DIRECTIONS` random directions: `Σ_i <grads_i, d_i>` against
/// `(f(p + h·d) − f(p − h·d)) / 2h`, the differences taken in `f64` of the
/// runtime's `f32` values. Step `h = 1e-3`: rounding error ~6e-8·|f|/h,
/// truncation ~h²·|f'''| (ReLU and max-pool kinks are crossed rarely at this
/// step). Tolerance: relative 5e-3 with an absolute floor of 1e-3. Wiring
/// errors (a wrong pullback, argument, transpose or missing accumulation)
/// give errors of order one.
pub fn check_tensor_fd(
    name: &str,
    f: impl Fn(&[Tensor]) -> f32,
    params: &[Tensor],
    grads: &[Tensor],
) {
    use autodiff::runtime::tensor::randn;
    const DIRECTIONS: u64 = 4;
    assert_eq!(
        params.len(),
        grads.len(),
        "{name}: one gradient per parameter"
    );
    for (i, (p, g)) in params.iter().zip(grads).enumerate() {
        assert_eq!(
            p.shape(),
            g.shape(),
            "{name}: gradient {i} has the wrong shape"
        );
    }
    let h = 1e-3f32;
    for k in 0..DIRECTIONS {
        let dirs: Vec<Tensor> = params
            .iter()
            .enumerate()
            .map(|(i, p)| randn(p.shape(), 1000 * k + i as u64 + name.len() as u64))
            .collect();
        let shifted = |s: f32| -> Vec<Tensor> {
            params
                .iter()
                .zip(&dirs)
                .map(|(p, d)| p + &(d * (s * h)))
                .collect()
        };
        let fd = (f(&shifted(1.0)) as f64 - f(&shifted(-1.0)) as f64) / (2.0 * h as f64);
        let ad: f64 = grads
            .iter()
            .zip(&dirs)
            .map(|(g, d)| {
                g.data()
                    .iter()
                    .zip(d.data())
                    .map(|(a, b)| *a as f64 * *b as f64)
                    .sum::<f64>()
            })
            .sum();
        let tol = 5e-3 * ad.abs().max(fd.abs()) + 1e-3;
        assert!(
            (ad - fd).abs() <= tol,
            "{name}: direction {k}: gradient gives {ad}, central differences {fd}"
        );
    }
}

/// The generated code without whitespace, which the pretty-printer places
/// by line length.
pub fn squeeze(src: &str) -> String {
    src.split_whitespace().collect()
}

/// How often `code` appears in the generated `src`, whitespace aside.
pub fn count(src: &str, code: &str) -> usize {
    squeeze(src).matches(&squeeze(code)).count()
}

/// GMM's triangular product, `y = x + L x` with L's strict lower triangle
/// packed by columns and read through a counter, then `‖y‖²`, as the
/// `#[grad]` function `$name` over `$t`: the loop shape of
/// `tests/loop_windows.rs` (windows by counter) and
/// `tests/distributed_loops.rs` (blocked reverse sums).
#[allow(unused_macros)]
macro_rules! packed_triangle {
    ($name:ident, $t:ty) => {
        #[::autodiff::grad]
        fn $name(l: &[$t], x: &[$t], d: usize) -> $t {
            let mut y = vec![0.0; d];
            for i in 0..d {
                y[i] = x[i];
            }
            let mut li = 0;
            for i in 0..d {
                for j in i + 1..d {
                    y[j] += l[li] * x[i];
                    li += 1;
                }
            }
            let mut s = 0.0;
            for i in 0..d {
                s += y[i] * y[i];
            }
            s
        }
    };
}
#[allow(unused_imports)]
pub(crate) use packed_triangle;
