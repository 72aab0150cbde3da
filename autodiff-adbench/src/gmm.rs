//! ADBench's GMM objective (`gmm_objective` in ADBench's
//! `src/cpp/shared/gmm.h`), written over slices the way one would write it in
//! Rust, and differentiated by `#[grad]`.
//!
//! `alphas` (k): log mixture weights, unnormalised. `means` (k×d, row-major).
//! `icf` (k × d(d+1)/2): per component, the logs of the diagonal of the
//! inverse-covariance factor Q, then its strictly lower-triangular entries
//! column by column. `x` (n×d): the points. `(gamma, m)`: the Wishart prior.

// Index loops are the natural form of this code (it mirrors ADBench's C++).
#![allow(clippy::needless_range_loop, clippy::too_many_arguments)]

use autodiff::{grad, stop_gradient};

/// `ln Σ exp(x_i)`, shifted by the maximum (ADBench's `logsumexp`). The
/// value does not depend on the shift, so the shift is held out of the
/// derivative (`stop_gradient`, as JAX's `logsumexp` does): the gradient is
/// the softmax, and its code keeps no tape of the running maximum.
#[grad]
pub fn logsumexp(x: &[f64]) -> f64 {
    let mut mx = x[0];
    for i in 1..x.len() {
        mx = mx.max(x[i]);
    }
    let mx = stop_gradient(mx);
    let mut semx = 0.0;
    for i in 0..x.len() {
        semx += (x[i] - mx).exp();
    }
    semx.ln() + mx
}

/// `ln Γ_p(a)`, the log of the multivariate gamma function (ADBench's
/// `log_gamma_distrib`).
pub fn log_gamma_distrib(a: f64, p: usize) -> f64 {
    let mut out = 0.25 * (p * (p - 1)) as f64 * std::f64::consts::PI.ln();
    for j in 1..=p {
        out += libm::lgamma(a + 0.5 * (1.0 - j as f64));
    }
    out
}

/// The constant part of ADBench's `log_wishart_prior`, for all `k` components:
/// `k · C` with `C = n p (ln γ − ½ ln 2) − ln Γ_p(n/2)`, `n = p + m + 1`.
/// A plain function: `#[grad(wrt(alphas, means, icf))]` callers pass it
/// constants only, so it needs no derivative.
pub fn wishart_constant(d: usize, k: usize, gamma: f64, m: i32) -> f64 {
    let n = d as i32 + m + 1;
    let c = (n * d as i32) as f64 * (gamma.ln() - 0.5 * 2f64.ln())
        - log_gamma_distrib(0.5 * n as f64, d);
    k as f64 * c
}

/// ADBench's GMM objective: the log-likelihood of the points plus the log
/// Wishart prior, with all constants.
#[grad(wrt(alphas, means, icf))]
pub fn gmm_objective(
    d: usize,
    k: usize,
    n: usize,
    alphas: &[f64],
    means: &[f64],
    icf: &[f64],
    x: &[f64],
    gamma: f64,
    m: i32,
) -> f64 {
    let icf_sz = d * (d + 1) / 2;
    let constant = -((n * d) as f64) * 0.5 * (2.0 * std::f64::consts::PI).ln();

    // Q's diagonal and the sum of its logs, per component.
    let mut qdiags = vec![0.0; d * k];
    let mut sum_qs = vec![0.0; k];
    for ik in 0..k {
        for id in 0..d {
            let q = icf[ik * icf_sz + id];
            sum_qs[ik] += q;
            qdiags[ik * d + id] = q.exp();
        }
    }

    let mut xcentered = vec![0.0; d];
    let mut qxcentered = vec![0.0; d];
    let mut main_term = vec![0.0; k];
    let mut slse = 0.0;
    for ix in 0..n {
        for ik in 0..k {
            for id in 0..d {
                xcentered[id] = x[ix * d + id] - means[ik * d + id];
            }
            // Q (x - mu): the diagonal, then the strictly lower triangle by columns.
            for id in 0..d {
                qxcentered[id] = qdiags[ik * d + id] * xcentered[id];
            }
            let mut li = ik * icf_sz + d;
            for i in 0..d {
                for j in i + 1..d {
                    qxcentered[j] += icf[li] * xcentered[i];
                    li += 1;
                }
            }
            let mut sqnorm = 0.0;
            for id in 0..d {
                sqnorm += qxcentered[id] * qxcentered[id];
            }
            main_term[ik] = alphas[ik] + sum_qs[ik] - 0.5 * sqnorm;
        }
        slse += logsumexp(&main_term);
    }
    let lse_alphas = logsumexp(alphas);

    // The Wishart prior.
    let mut prior = 0.0;
    for ik in 0..k {
        let mut frobenius = 0.0;
        for id in 0..d {
            frobenius += qdiags[ik * d + id] * qdiags[ik * d + id];
        }
        for i in d..icf_sz {
            frobenius += icf[ik * icf_sz + i] * icf[ik * icf_sz + i];
        }
        prior += 0.5 * gamma * gamma * frobenius - (m as f64) * sum_qs[ik];
    }
    prior -= wishart_constant(d, k, gamma, m);

    constant + slse - (n as f64) * lse_alphas + prior
}

/// The same objective with `Q (x − μ)` computed row by row into a scalar
/// (`L[j, i]`, `i < j`, sits at `d + i(2d − i − 1)/2 + (j − i − 1)` in the
/// component's icf row), and `x − μ` recomputed where it is used: no local
/// vector is written inside the point loop except `main_term`. A second
/// natural way to write it, kept to show how the generated gradient depends on
/// the form (see README); [`gmm_objective`] is the one that mirrors ADBench.
#[grad(wrt(alphas, means, icf))]
pub fn gmm_objective_rowwise(
    d: usize,
    k: usize,
    n: usize,
    alphas: &[f64],
    means: &[f64],
    icf: &[f64],
    x: &[f64],
    gamma: f64,
    m: i32,
) -> f64 {
    let icf_sz = d * (d + 1) / 2;
    let constant = -((n * d) as f64) * 0.5 * (2.0 * std::f64::consts::PI).ln();

    let mut qdiags = vec![0.0; d * k];
    let mut sum_qs = vec![0.0; k];
    for ik in 0..k {
        for id in 0..d {
            let q = icf[ik * icf_sz + id];
            sum_qs[ik] += q;
            qdiags[ik * d + id] = q.exp();
        }
    }

    let mut main_term = vec![0.0; k];
    let mut slse = 0.0;
    for ix in 0..n {
        for ik in 0..k {
            let base = ik * icf_sz + d;
            let mut sqnorm = 0.0;
            for j in 0..d {
                let mut qx = qdiags[ik * d + j] * (x[ix * d + j] - means[ik * d + j]);
                for i in 0..j {
                    let li = base + i * (2 * d - i - 1) / 2 + (j - i - 1);
                    qx += icf[li] * (x[ix * d + i] - means[ik * d + i]);
                }
                sqnorm += qx * qx;
            }
            main_term[ik] = alphas[ik] + sum_qs[ik] - 0.5 * sqnorm;
        }
        slse += logsumexp(&main_term);
    }
    let lse_alphas = logsumexp(alphas);

    let mut prior = 0.0;
    for ik in 0..k {
        let mut frobenius = 0.0;
        for id in 0..d {
            frobenius += qdiags[ik * d + id] * qdiags[ik * d + id];
        }
        for i in d..icf_sz {
            frobenius += icf[ik * icf_sz + i] * icf[ik * icf_sz + i];
        }
        prior += 0.5 * gamma * gamma * frobenius - (m as f64) * sum_qs[ik];
    }
    prior -= wishart_constant(d, k, gamma, m);

    constant + slse - (n as f64) * lse_alphas + prior
}
