//! The GMM gradient derived and written by hand.
//!
//! With `Q_k = diag(exp(q_k)) + L_k` (L strictly lower), `xc = x_i − μ_k`,
//! `y_ik = Q_k xc` and `a_ik = α_k + Σ_j q_kj − ½‖y_ik‖²`, the objective is
//! `Σ_i lse_k(a_ik) − n·lse(α) + Σ_k [½γ²(‖exp(q_k)‖² + ‖L_k‖²) − m Σ_j q_kj] + const`.
//! With responsibilities `r_ik = exp(a_ik − lse_k(a_ik))` and `ḡ_ik = −r_ik y_ik`:
//!
//! - `∂/∂α_k = Σ_i r_ik − n · softmax(α)_k`
//! - `∂/∂q_kj = Σ_i r_ik + Σ_i ḡ_ikj xc_j exp(q_kj) + γ² exp(2 q_kj) − m`
//! - `∂/∂L_k[j,l] = Σ_i ḡ_ikj xc_l + γ² L_k[j,l]` (j > l)
//! - `∂/∂μ_k = −Σ_i Q_kᵀ ḡ_ik`
//!
//! One pass over the points: the forward terms of every component for the
//! point (kept, `k·d` each for `xc` and `y`), then the backward terms. The
//! triangular inner loops run over sub-slices (no bounds checks); otherwise
//! it is the same arithmetic as the objective.

#![allow(clippy::needless_range_loop, clippy::too_many_arguments)]

use crate::gmm::wishart_constant;

/// Gradients with respect to `(alphas, means, icf)`, as `gmm_objective_grad` returns them.
pub type GmmGrads = (Vec<f64>, Vec<f64>, Vec<f64>);

/// The objective and its gradient with respect to `(alphas, means, icf)`.
pub fn gmm_objective_grad_hand(
    d: usize,
    k: usize,
    n: usize,
    alphas: &[f64],
    means: &[f64],
    icf: &[f64],
    x: &[f64],
    gamma: f64,
    m: i32,
) -> (f64, GmmGrads) {
    let icf_sz = d * (d + 1) / 2;
    let constant = -((n * d) as f64) * 0.5 * (2.0 * std::f64::consts::PI).ln();
    let mut galphas = vec![0.0; k];
    let mut gmeans = vec![0.0; k * d];
    let mut gicf = vec![0.0; k * icf_sz];

    let mut qdiags = vec![0.0; d * k];
    let mut sum_qs = vec![0.0; k];
    for ik in 0..k {
        for id in 0..d {
            let q = icf[ik * icf_sz + id];
            sum_qs[ik] += q;
            qdiags[ik * d + id] = q.exp();
        }
    }

    let mut xc = vec![0.0; k * d];
    let mut y = vec![0.0; k * d];
    let mut main_term = vec![0.0; k];
    let mut rsum = vec![0.0; k];
    let mut slse = 0.0;
    for ix in 0..n {
        let xi = &x[ix * d..ix * d + d];
        for ik in 0..k {
            let xck = &mut xc[ik * d..ik * d + d];
            let yk = &mut y[ik * d..ik * d + d];
            let qd = &qdiags[ik * d..ik * d + d];
            let mu = &means[ik * d..ik * d + d];
            for id in 0..d {
                xck[id] = xi[id] - mu[id];
                yk[id] = qd[id] * xck[id];
            }
            let mut li = ik * icf_sz + d;
            for i in 0..d {
                let len = d - i - 1;
                let xi = xck[i];
                for (yj, l) in yk[i + 1..].iter_mut().zip(&icf[li..li + len]) {
                    *yj += l * xi;
                }
                li += len;
            }
            let mut sq = 0.0;
            for id in 0..d {
                sq += yk[id] * yk[id];
            }
            main_term[ik] = alphas[ik] + sum_qs[ik] - 0.5 * sq;
        }
        let mut mx = main_term[0];
        for ik in 1..k {
            mx = mx.max(main_term[ik]);
        }
        let mut semx = 0.0;
        for ik in 0..k {
            main_term[ik] = (main_term[ik] - mx).exp();
            semx += main_term[ik];
        }
        slse += semx.ln() + mx;

        // Backward for this point.
        let inv = 1.0 / semx;
        for ik in 0..k {
            let r = main_term[ik] * inv;
            rsum[ik] += r;
            let xck = &xc[ik * d..ik * d + d];
            let yk = &mut y[ik * d..ik * d + d];
            let qd = &qdiags[ik * d..ik * d + d];
            for id in 0..d {
                yk[id] *= -r; // ḡ = −r y
            }
            let base = ik * icf_sz;
            let mut li = base + d;
            for i in 0..d {
                let len = d - i - 1;
                let xi = xck[i];
                let mut acc = qd[i] * yk[i];
                gicf[base + i] += yk[i] * xi * qd[i];
                let (ls, gls) = (&icf[li..li + len], &mut gicf[li..li + len]);
                for ((gl, l), yj) in gls.iter_mut().zip(ls).zip(&yk[i + 1..]) {
                    *gl += yj * xi;
                    acc += l * yj;
                }
                li += len;
                gmeans[ik * d + i] -= acc;
            }
        }
    }

    // lse(alphas) and its softmax.
    let mut mx = alphas[0];
    for ik in 1..k {
        mx = mx.max(alphas[ik]);
    }
    let mut semx = 0.0;
    for ik in 0..k {
        semx += (alphas[ik] - mx).exp();
    }
    let lse_alphas = semx.ln() + mx;
    for ik in 0..k {
        galphas[ik] = rsum[ik] - n as f64 * (alphas[ik] - lse_alphas).exp();
    }

    // The Wishart prior and the per-component terms.
    let mut prior = 0.0;
    let g2 = gamma * gamma;
    for ik in 0..k {
        let base = ik * icf_sz;
        let mut frobenius = 0.0;
        for id in 0..d {
            let qd = qdiags[ik * d + id];
            frobenius += qd * qd;
            gicf[base + id] += rsum[ik] + g2 * qd * qd - m as f64;
        }
        for i in d..icf_sz {
            frobenius += icf[base + i] * icf[base + i];
            gicf[base + i] += g2 * icf[base + i];
        }
        prior += 0.5 * g2 * frobenius - (m as f64) * sum_qs[ik];
    }
    prior -= wishart_constant(d, k, gamma, m);

    let value = constant + slse - (n as f64) * lse_alphas + prior;
    (value, (galphas, gmeans, gicf))
}
