//! Shared helpers: finite-difference checking of pullbacks.
//!
//! A pullback is checked through directional derivatives, which is cheap (two
//! forward passes per direction instead of two per element) and catches the same
//! bugs. With a random upstream gradient `u`, define `L(x) = <f(x), u>`,
//! accumulated in f64. The pullback must satisfy, for random directions `v`,
//!
//! `<grad_x, v>  ≈  (L(x + h v) − L(x − h v)) / 2h`
//!
//! within `|analytic − numeric| ≤ tol · max(1, |analytic|, |numeric|)`. This is
//! checked for each input alone (so swapped gradients are caught) and for all
//! inputs moved together. Forward passes run in f32, so `h` is chosen per test:
//! large for ops that are linear in the moved input (no truncation error), about
//! 1e-2 for smooth ops, and 1e-3 for piecewise ops whose inputs are generated to
//! stay at least 0.02 away from every kink.
#![allow(dead_code)]

use autodiff_runtime::tensor::{randn, Tensor};

pub fn dot64(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.shape(), b.shape());
    a.data()
        .iter()
        .zip(b.data())
        .map(|(&x, &y)| x as f64 * y as f64)
        .sum()
}

fn axpy(x: &Tensor, h: f32, v: &Tensor) -> Tensor {
    let data = x
        .data()
        .iter()
        .zip(v.data())
        .map(|(a, b)| a + h * b)
        .collect();
    Tensor::from_vec(data, x.shape())
}

pub struct GradCheck {
    pub h: f32,
    pub tol: f64,
    pub seed: u64,
    pub directions: usize,
}

impl Default for GradCheck {
    fn default() -> Self {
        GradCheck {
            h: 1e-2,
            tol: 5e-3,
            seed: 1234,
            directions: 3,
        }
    }
}

impl GradCheck {
    pub fn h(h: f32) -> Self {
        GradCheck {
            h,
            ..Default::default()
        }
    }

    /// `f` is the forward pass, `pb(inputs, y, grad_y)` the pullback returning one
    /// gradient per input.
    pub fn run(
        &self,
        name: &str,
        inputs: &[Tensor],
        f: impl Fn(&[Tensor]) -> Tensor,
        pb: impl Fn(&[Tensor], &Tensor, &Tensor) -> Vec<Tensor>,
    ) {
        let y = f(inputs);
        let u = randn(y.shape(), self.seed ^ 0xABCD);
        let grads = pb(inputs, &y, &u);
        assert_eq!(grads.len(), inputs.len(), "{name}: gradient count");
        for (g, x) in grads.iter().zip(inputs) {
            assert_eq!(g.shape(), x.shape(), "{name}: gradient shape");
        }
        let loss = |xs: &[Tensor]| dot64(&f(xs), &u);
        let h = self.h;
        for d in 0..self.directions {
            let dirs: Vec<Tensor> = inputs
                .iter()
                .enumerate()
                .map(|(i, x)| randn(x.shape(), self.seed + 100 * d as u64 + i as u64 + 1))
                .collect();
            // Each input alone, then all together (`None`).
            let which: Vec<Option<usize>> = (0..inputs.len()).map(Some).chain([None]).collect();
            for sel in which {
                let moved = |sign: f32| -> Vec<Tensor> {
                    inputs
                        .iter()
                        .enumerate()
                        .map(|(i, x)| {
                            if sel.is_none() || sel == Some(i) {
                                axpy(x, sign * h, &dirs[i])
                            } else {
                                x.clone()
                            }
                        })
                        .collect()
                };
                let numeric = (loss(&moved(1.0)) - loss(&moved(-1.0))) / (2.0 * h as f64);
                let analytic: f64 = grads
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| sel.is_none() || sel == Some(*i))
                    .map(|(i, g)| dot64(g, &dirs[i]))
                    .sum();
                let scale = 1f64.max(analytic.abs()).max(numeric.abs());
                assert!(
                    (analytic - numeric).abs() <= self.tol * scale,
                    "{name}: input {sel:?}, direction {d}: analytic {analytic} vs numeric {numeric}"
                );
            }
        }
    }
}

/// Random tensor whose entries are all at least `gap` away from every value in
/// `kinks`, for checking piecewise-linear ops away from their non-differentiable
/// points.
pub fn away_from(shape: &[usize], kinks: &[f32], gap: f32, seed: u64) -> Tensor {
    let mut t = randn(shape, seed);
    for v in t.data_mut() {
        for &k in kinks {
            if (*v - k).abs() < gap {
                *v = if *v >= k { k + gap } else { k - gap };
            }
        }
    }
    t
}

/// Random tensor with all entries distinct and at least `gap` apart (a shuffled
/// grid), so max-pooling / maximum never sees ties or near-ties.
pub fn distinct(shape: &[usize], gap: f32, seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let keys = randn(&[n], seed);
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| keys.data()[a].total_cmp(&keys.data()[b]));
    let mut data = vec![0f32; n];
    for (rank, &i) in idx.iter().enumerate() {
        data[i] = (rank as f32 - n as f32 / 2.0) * gap;
    }
    Tensor::from_vec(data, shape)
}
