//! Bundle adjustment: the Jacobian from `#[grad]` pullbacks against
//! fourth-order central differences, the residuals of a trivial camera, and
//! the whole-problem loss `½‖r‖²` (sub-slices passed to the residual) against
//! `Jᵀ r` and central differences.

use autodiff_adbench::ba::{
    ba_half_sq_loss, ba_half_sq_loss_grad, ba_jacobian, ba_objective, reproj_err,
};
use autodiff_adbench::instances::{BaInstance, BA_NCAMPARAMS};
use autodiff_adbench::support::fd;

fn check_jacobian(b: &BaInstance) {
    let j = ba_jacobian(b);
    assert_eq!(j.nrows, 3 * b.p);
    assert_eq!(j.rows.len(), 3 * b.p + 1);
    assert_eq!(j.vals.len(), 31 * b.p);
    for (i, &(c, pt)) in b.obs.iter().enumerate() {
        let feat = &b.feats[2 * i..2 * i + 2];
        // Inputs of observation i: camera (11), point (3), weight (1).
        let mut p: Vec<f64> = b.cams[c * BA_NCAMPARAMS..(c + 1) * BA_NCAMPARAMS].to_vec();
        p.extend_from_slice(&b.x[3 * pt..3 * pt + 3]);
        p.push(b.w[i]);
        for comp in 0..2 {
            let numeric = fd(|q| reproj_err(&q[..11], &q[11..14], q[14], feat, comp), &p);
            let row = 2 * i + comp;
            let vals = &j.vals[j.rows[row]..j.rows[row + 1]];
            let cols = &j.cols[j.rows[row]..j.rows[row + 1]];
            let scale = numeric.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (q, (a, n)) in vals.iter().zip(&numeric).enumerate() {
                let den = n.abs().max(1e-4 * scale); // FD noise floor: zeros are exact here
                assert!(
                    (a - n).abs() <= 1e-8 * den,
                    "obs {i} comp {comp} input {q}: {a:e} vs {n:e}"
                );
            }
            let want_cols: Vec<usize> = (0..11)
                .map(|q| c * 11 + q)
                .chain((0..3).map(|q| 11 * b.n + 3 * pt + q))
                .chain([11 * b.n + 3 * b.m + i])
                .collect();
            assert_eq!(cols, &want_cols[..]);
        }
        let row = 2 * b.p + i;
        assert_eq!(j.vals[j.rows[row]], -2.0 * b.w[i]);
    }
}

#[test]
fn jacobian_matches_finite_differences() {
    check_jacobian(&BaInstance::generate(3, 5, 12, 1));
    check_jacobian(&BaInstance::generate(2, 7, 9, 2));
}

/// A camera with zero rotation takes the other branch of the Rodrigues rotation.
#[test]
fn zero_rotation_branch() {
    let mut b = BaInstance::generate(2, 3, 6, 3);
    for q in 0..3 {
        b.cams[q] = 0.0;
    }
    check_jacobian(&b);
}

/// Identity camera at the origin, unit focal length, no distortion:
/// the projection is `(X/Z, Y/Z)`.
#[test]
fn trivial_camera_residuals() {
    let mut cam = vec![0.0; 11];
    cam[6] = 1.0;
    let x = [1.0, -2.0, 4.0];
    let feat = [0.1, 0.2];
    let w = 0.5;
    assert!((reproj_err(&cam, &x, w, &feat, 0) - 0.5 * (0.25 - 0.1)).abs() < 1e-15);
    assert!((reproj_err(&cam, &x, w, &feat, 1) - 0.5 * (-0.5 - 0.2)).abs() < 1e-15);
    let b = BaInstance {
        n: 1,
        m: 1,
        p: 1,
        cams: cam,
        x: x.to_vec(),
        w: vec![w],
        obs: vec![(0, 0)],
        feats: feat.to_vec(),
    };
    let (r, we) = ba_objective(&b);
    assert_eq!(r.len(), 2);
    assert_eq!(we, vec![1.0 - w * w]);
}

/// `½‖r‖²` through one `#[grad]` over the problem: its value from the
/// residuals, its gradient `Jᵀ r` from the pullback Jacobian, and central
/// differences on a small instance.
#[test]
fn half_squared_loss_gradient_is_jt_r() {
    for b in [
        BaInstance::generate(3, 5, 12, 1),
        BaInstance::generate(4, 20, 60, 5),
    ] {
        let obs = b.flat_obs();
        let (r, we) = ba_objective(&b);
        let (v, (gc, gx, gw)) = ba_half_sq_loss_grad(&b.cams, &b.x, &b.w, &b.feats, &obs);
        assert_eq!(
            v.to_bits(),
            ba_half_sq_loss(&b.cams, &b.x, &b.w, &b.feats, &obs).to_bits()
        );
        let want = 0.5 * r.iter().chain(&we).map(|e| e * e).sum::<f64>();
        assert!((v - want).abs() <= 1e-12 * want, "{v} vs {want}");
        let j = ba_jacobian(&b);
        let res: Vec<f64> = r.iter().chain(&we).copied().collect();
        let mut jtr = vec![0.0; j.ncols];
        for (row, e) in res.iter().enumerate() {
            for q in j.rows[row]..j.rows[row + 1] {
                jtr[j.cols[q]] += j.vals[q] * e;
            }
        }
        let got: Vec<f64> = gc.iter().chain(&gx).chain(&gw).copied().collect();
        let scale = jtr.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (q, (a, e)) in got.iter().zip(&jtr).enumerate() {
            assert!((a - e).abs() <= 1e-12 * scale, "column {q}: {a:e} vs {e:e}");
        }
    }
    let b = BaInstance::generate(2, 4, 7, 9);
    let obs = b.flat_obs();
    let (nc, nx) = (b.cams.len(), b.x.len());
    let p: Vec<f64> = b.cams.iter().chain(&b.x).chain(&b.w).copied().collect();
    let numeric = fd(
        |q| ba_half_sq_loss(&q[..nc], &q[nc..nc + nx], &q[nc + nx..], &b.feats, &obs),
        &p,
    );
    let (_, (gc, gx, gw)) = ba_half_sq_loss_grad(&b.cams, &b.x, &b.w, &b.feats, &obs);
    let scale = numeric.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (q, (a, n)) in gc.iter().chain(&gx).chain(&gw).zip(&numeric).enumerate() {
        assert!((a - n).abs() <= 1e-8 * scale, "input {q}: {a:e} vs {n:e}");
    }
}
