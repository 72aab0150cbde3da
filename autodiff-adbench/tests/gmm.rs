//! GMM: the `#[grad]` gradient, the hand-written one and finite differences
//! agree to 1e-8 relative on small instances.

use autodiff_adbench::gmm::{
    gmm_objective, gmm_objective_grad, gmm_objective_rowwise_grad, log_gamma_distrib,
};
use autodiff_adbench::hand::gmm_objective_grad_hand;
use autodiff_adbench::instances::GmmInstance;
use autodiff_adbench::support::fd;

/// Relative agreement, with a floor of 1e-3 of the largest component (so
/// that components that are zero up to rounding do not fail a relative test).
fn agree(what: &str, a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let den = y.abs().max(1e-3 * scale).max(1e-300);
        assert!(
            (x - y).abs() <= tol * den,
            "{what}[{i}]: {x:e} vs {y:e} (rel {:e})",
            (x - y).abs() / den
        );
    }
}

fn instances() -> Vec<GmmInstance> {
    let mut v = vec![
        GmmInstance::generate(2, 3, 5, 1),
        GmmInstance::generate(3, 4, 7, 2),
        GmmInstance::generate(5, 2, 10, 3),
        GmmInstance::generate(4, 5, 6, 4),
        GmmInstance::generate(1, 1, 3, 5),
    ];
    // A non-trivial Wishart prior.
    let mut w = GmmInstance::generate(3, 3, 4, 6);
    w.gamma = 1.3;
    w.m = 2;
    v.push(w);
    v
}

#[test]
fn grad_hand_and_fd_agree() {
    for g in instances() {
        let (d, k, n) = (g.d, g.k, g.n);
        let icf_sz = d * (d + 1) / 2;
        let run =
            |a: &[f64], mu: &[f64], q: &[f64]| gmm_objective(d, k, n, a, mu, q, &g.x, g.gamma, g.m);
        let v = run(&g.alphas, &g.means, &g.icf);
        let (vg, (ga, gm, gq)) =
            gmm_objective_grad(d, k, n, &g.alphas, &g.means, &g.icf, &g.x, g.gamma, g.m);
        let (vh, (ha, hm, hq)) =
            gmm_objective_grad_hand(d, k, n, &g.alphas, &g.means, &g.icf, &g.x, g.gamma, g.m);
        assert_eq!(vg.to_bits(), v.to_bits(), "f_grad's value is f's");
        assert!((vh - v).abs() <= 1e-12 * v.abs(), "{vh} vs {v}");

        let flat: Vec<f64> = [&g.alphas[..], &g.means[..], &g.icf[..]].concat();
        let numeric = fd(|p| run(&p[..k], &p[k..k + k * d], &p[k + k * d..]), &flat);
        assert_eq!(numeric.len(), k + k * d + k * icf_sz);
        let ours: Vec<f64> = [&ga[..], &gm[..], &gq[..]].concat();
        let hand: Vec<f64> = [&ha[..], &hm[..], &hq[..]].concat();
        let tag = format!("d{d} k{k} n{n}");
        agree(&format!("{tag} #[grad] vs hand"), &ours, &hand, 1e-10);
        agree(&format!("{tag} #[grad] vs FD"), &ours, &numeric, 1e-8);
        agree(&format!("{tag} hand vs FD"), &hand, &numeric, 1e-8);

        let (vc, (ca, cm, cq)) = autodiff_adbench::gmm_helpers::gmm_objective_helpers_grad(
            d, k, n, &g.alphas, &g.means, &g.icf, &g.x, g.gamma, g.m,
        );
        assert!((vc - v).abs() <= 1e-12 * v.abs(), "{vc} vs {v}");
        let helpers: Vec<f64> = [&ca[..], &cm[..], &cq[..]].concat();
        agree(
            &format!("{tag} helpers #[grad] vs hand"),
            &helpers,
            &hand,
            1e-10,
        );
        agree(
            &format!("{tag} helpers #[grad] vs FD"),
            &helpers,
            &numeric,
            1e-8,
        );

        let (vr, (ra, rm, rq)) =
            gmm_objective_rowwise_grad(d, k, n, &g.alphas, &g.means, &g.icf, &g.x, g.gamma, g.m);
        assert!((vr - v).abs() <= 1e-12 * v.abs(), "{vr} vs {v}");
        let rowwise: Vec<f64> = [&ra[..], &rm[..], &rq[..]].concat();
        agree(
            &format!("{tag} row-wise #[grad] vs hand"),
            &rowwise,
            &hand,
            1e-10,
        );
    }
}

/// The constants: `ln Γ_p` against closed forms, and the objective of a
/// one-point, one-component, 1-D instance written out by hand.
#[test]
fn constants_match_adbench() {
    // ln Γ_1(a) = ln Γ(a); ln Γ_2(a) = ½ ln π + ln Γ(a) + ln Γ(a − ½).
    assert!((log_gamma_distrib(3.0, 1) - 2f64.ln()).abs() < 1e-14);
    let pi = std::f64::consts::PI;
    let want = 0.5 * pi.ln() + 0.0 + (0.5 * pi.ln()); // Γ(1) = 1, Γ(½) = √π
    assert!((log_gamma_distrib(1.0, 2) - want).abs() < 1e-14);

    // d = k = n = 1: alpha a, mean mu, icf [q], point x, gamma g, m.
    let (a, mu, q, x, g, m): (f64, f64, f64, f64, f64, i32) = (0.3, 0.2, -0.4, 1.1, 1.5, 1);
    let e = q.exp();
    let lik = -0.5 * (2.0 * pi).ln() + (a + q - 0.5 * (e * (x - mu)).powi(2)) - a;
    let nn = 1 + m + 1; // p + m + 1
    let c = (nn as f64) * (g.ln() - 0.5 * 2f64.ln()) - libm_lgamma(0.5 * nn as f64);
    let prior = 0.5 * g * g * e * e - m as f64 * q - c;
    let v = gmm_objective(1, 1, 1, &[a], &[mu], &[q], &[x], g, m);
    assert!((v - (lik + prior)).abs() < 1e-14, "{v} vs {}", lik + prior);
}

/// ln Γ(3/2) = ln(√π / 2), the only value `constants_match_adbench` needs.
fn libm_lgamma(a: f64) -> f64 {
    assert_eq!(a, 1.5);
    (std::f64::consts::PI.sqrt() / 2.0).ln()
}

/// `_pullback` scales the gradient by the cotangent; `logsumexp`'s gradient is softmax.
#[test]
fn pullback_and_logsumexp() {
    use autodiff_adbench::gmm::{gmm_objective_pullback, logsumexp_grad};
    let g = GmmInstance::generate(3, 4, 6, 9);
    let (d, k, n) = (g.d, g.k, g.n);
    let (_, (ga, gm, gq)) =
        gmm_objective_grad(d, k, n, &g.alphas, &g.means, &g.icf, &g.x, g.gamma, g.m);
    let (pa, pm, pq) = gmm_objective_pullback(
        d, k, n, &g.alphas, &g.means, &g.icf, &g.x, g.gamma, g.m, -2.5,
    );
    let full: Vec<f64> = [&ga[..], &gm[..], &gq[..]].concat();
    let pulled: Vec<f64> = [&pa[..], &pm[..], &pq[..]].concat();
    for (p, f) in pulled.iter().zip(&full) {
        assert!((p - -2.5 * f).abs() <= 1e-12 * f.abs().max(1.0));
    }

    let x = [0.3, -1.2, 2.0, 0.7];
    let (v, gx) = logsumexp_grad(&x);
    for (gi, xi) in gx.iter().zip(&x) {
        assert!((gi - (xi - v).exp()).abs() < 1e-15);
    }
}
