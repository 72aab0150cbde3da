//! ADBench's GMM objective written the way its C++ is (`gmm_objective` in
//! `src/cpp/shared/gmm.h`): the point loop calls the helpers `subtract`,
//! `Qtimesx` and `sqnorm`, which write their results into the caller's
//! scratch vectors through output parameters (`out: &mut [f64]`), on rows
//! passed as sub-slices (the C++ passes `&x[ix*d]`). Each helper has
//! `#[grad]`; the caller's gradient pulls each written vector's adjoint
//! back through the helper that wrote it.
//!
//! ADBench's `preprocess_qs` writes two vectors (`sum_qs`, `Qdiags`), and a
//! `#[grad]` function writes one, so that loop stays inline, as in
//! [`crate::gmm::gmm_objective`].

// Index loops mirror ADBench's C++.
#![allow(clippy::needless_range_loop, clippy::too_many_arguments)]

// By path: a `#[grad]` callee's generated functions live beside it.
use crate::gmm::{self, wishart_constant};
use autodiff::grad;

/// `out = x − y` (ADBench's `subtract`).
#[grad]
pub fn subtract(x: &[f64], y: &[f64], out: &mut [f64]) {
    for i in 0..x.len() {
        out[i] = x[i] - y[i];
    }
}

/// `out = Q x`, `Q` lower triangular with diagonal `qdiag` and its strictly
/// lower triangle packed column by column in `ltri` (ADBench's `Qtimesx`).
#[grad]
pub fn qtimesx(qdiag: &[f64], ltri: &[f64], x: &[f64], out: &mut [f64]) {
    let d = x.len();
    for id in 0..d {
        out[id] = qdiag[id] * x[id];
    }
    let mut li = 0;
    for i in 0..d {
        for j in i + 1..d {
            out[j] += ltri[li] * x[i];
            li += 1;
        }
    }
}

/// `‖x‖²` (ADBench's `sqnorm`).
#[grad]
pub fn sqnorm(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i];
    }
    s
}

/// The objective of [`crate::gmm::gmm_objective`], through the helpers.
#[grad(wrt(alphas, means, icf))]
pub fn gmm_objective_helpers(
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

    let mut xcentered = vec![0.0; d];
    let mut qxcentered = vec![0.0; d];
    let mut main_term = vec![0.0; k];
    let mut slse = 0.0;
    for ix in 0..n {
        for ik in 0..k {
            subtract(
                &x[ix * d..(ix + 1) * d],
                &means[ik * d..(ik + 1) * d],
                &mut xcentered,
            );
            qtimesx(
                &qdiags[ik * d..(ik + 1) * d],
                &icf[ik * icf_sz + d..(ik + 1) * icf_sz],
                &xcentered,
                &mut qxcentered,
            );
            main_term[ik] = alphas[ik] + sum_qs[ik] - 0.5 * sqnorm(&qxcentered);
        }
        slse += gmm::logsumexp(&main_term);
    }
    let lse_alphas = gmm::logsumexp(alphas);

    let mut prior = 0.0;
    for ik in 0..k {
        let mut frobenius = sqnorm(&qdiags[ik * d..(ik + 1) * d]);
        frobenius += sqnorm(&icf[ik * icf_sz + d..(ik + 1) * icf_sz]);
        prior += 0.5 * gamma * gamma * frobenius - (m as f64) * sum_qs[ik];
    }
    prior -= wishart_constant(d, k, gamma, m);

    constant + slse - (n as f64) * lse_alphas + prior
}
