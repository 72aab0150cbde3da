//! ADBench's bundle-adjustment objective (`ba_objective` in ADBench's
//! `src/cpp/shared/ba.h`) and its sparse Jacobian through `#[grad]` pullbacks.
//!
//! Camera (11): Rodrigues rotation `r` (3), centre `C` (3), focal `f`,
//! principal point `u0 v0`, radial distortion `k1 k2`. Per observation `i` of
//! point `X` by camera `cam` with weight `w` and feature `feat`:
//! `Xcam = R(r) (X − C)`, `p = Xcam[0..2] / Xcam[2]`,
//! `p ← p (1 + k1 |p|² + k2 |p|⁴)`, `proj = f p + (u0, v0)`, and the
//! residuals `w (proj − feat)` (2) and `1 − w²` (1).

#![allow(clippy::needless_range_loop)]

use crate::instances::{BaInstance, BA_NCAMPARAMS};
use autodiff::grad;

/// One component (`comp` 0 or 1) of the weighted reprojection error, as
/// ADBench's `computeReprojError` (with `project`, `rodrigues_rotate_point`
/// and `radial_distort` inlined).
#[grad(wrt(cam, x, w))]
pub fn reproj_err(cam: &[f64], x: &[f64], w: f64, feat: &[f64], comp: usize) -> f64 {
    // The point relative to the camera centre.
    let mut xo = [0.0; 3];
    for i in 0..3 {
        xo[i] = x[i] - cam[3 + i];
    }

    // Rodrigues rotation.
    let mut xcam = [0.0; 3];
    let sqtheta = cam[0] * cam[0] + cam[1] * cam[1] + cam[2] * cam[2];
    if sqtheta != 0.0 {
        let theta = sqtheta.sqrt();
        let costheta = theta.cos();
        let sintheta = theta.sin();
        let theta_inverse = 1.0 / theta;
        let mut axis = [0.0; 3];
        for i in 0..3 {
            axis[i] = cam[i] * theta_inverse;
        }
        let cross = [
            axis[1] * xo[2] - axis[2] * xo[1],
            axis[2] * xo[0] - axis[0] * xo[2],
            axis[0] * xo[1] - axis[1] * xo[0],
        ];
        let tmp = (axis[0] * xo[0] + axis[1] * xo[1] + axis[2] * xo[2]) * (1.0 - costheta);
        for i in 0..3 {
            xcam[i] = xo[i] * costheta + cross[i] * sintheta + axis[i] * tmp;
        }
    } else {
        let cross = [
            cam[1] * xo[2] - cam[2] * xo[1],
            cam[2] * xo[0] - cam[0] * xo[2],
            cam[0] * xo[1] - cam[1] * xo[0],
        ];
        for i in 0..3 {
            xcam[i] = xo[i] + cross[i];
        }
    }

    // Perspective division, radial distortion, focal length and principal point.
    let mut proj = [xcam[0] / xcam[2], xcam[1] / xcam[2]];
    let rsq = proj[0] * proj[0] + proj[1] * proj[1];
    let l = 1.0 + cam[9] * rsq + cam[10] * rsq * rsq;
    proj[0] = proj[0] * l * cam[6] + cam[7];
    proj[1] = proj[1] * l * cam[6] + cam[8];

    w * (proj[comp] - feat[comp])
}

/// ADBench's `computeZachWeightError`.
#[grad]
pub fn weight_err(w: f64) -> f64 {
    1.0 - w * w
}

/// Half the sum of the squared residuals, `½‖r‖²`: the loss a first-order
/// optimiser minimises, whose gradient is `Jᵀ r`. One `#[grad]` over the
/// whole problem: each observation's camera, point and feature go to
/// [`reproj_err`] as sub-slices. `obs` holds `(camera, point)` per
/// observation, flattened.
#[grad(wrt(cams, x, w))]
pub fn ba_half_sq_loss(cams: &[f64], x: &[f64], w: &[f64], feats: &[f64], obs: &[usize]) -> f64 {
    let mut s = 0.0;
    for i in 0..w.len() {
        let c = obs[2 * i] * BA_NCAMPARAMS;
        let pt = obs[2 * i + 1] * 3;
        for comp in 0..2 {
            let r = reproj_err(
                &cams[c..c + BA_NCAMPARAMS],
                &x[pt..pt + 3],
                w[i],
                &feats[2 * i..2 * i + 2],
                comp,
            );
            s += 0.5 * r * r;
        }
        let we = weight_err(w[i]);
        s += 0.5 * we * we;
    }
    s
}

/// The residuals: `2p` reprojection errors, then `p` weight errors.
pub fn ba_objective(b: &BaInstance) -> (Vec<f64>, Vec<f64>) {
    let mut reproj = vec![0.0; 2 * b.p];
    let mut werr = vec![0.0; b.p];
    for (i, &(c, pt)) in b.obs.iter().enumerate() {
        let cam = &b.cams[c * BA_NCAMPARAMS..(c + 1) * BA_NCAMPARAMS];
        let x = &b.x[pt * 3..pt * 3 + 3];
        let feat = &b.feats[2 * i..2 * i + 2];
        reproj[2 * i] = reproj_err(cam, x, b.w[i], feat, 0);
        reproj[2 * i + 1] = reproj_err(cam, x, b.w[i], feat, 1);
    }
    for i in 0..b.p {
        werr[i] = weight_err(b.w[i]);
    }
    (reproj, werr)
}

/// The Jacobian in ADBench's `BASparseMat` layout (CSR): `3p` rows (two per
/// observation, then one per weight), `11n + 3m + p` columns; each
/// reprojection row holds 11 camera, 3 point and 1 weight entries.
#[derive(Clone, Debug, PartialEq)]
pub struct BaSparseJacobian {
    pub nrows: usize,
    pub ncols: usize,
    pub rows: Vec<usize>,
    pub cols: Vec<usize>,
    pub vals: Vec<f64>,
}

/// The Jacobian through two pullbacks of [`reproj_err`] per observation (one
/// per residual component, cotangent 1) and the gradient of [`weight_err`].
pub fn ba_jacobian(b: &BaInstance) -> BaSparseJacobian {
    let nnz = 15 * 2 * b.p + b.p;
    let mut j = BaSparseJacobian {
        nrows: 3 * b.p,
        ncols: BA_NCAMPARAMS * b.n + 3 * b.m + b.p,
        rows: Vec::with_capacity(3 * b.p + 1),
        cols: Vec::with_capacity(nnz),
        vals: Vec::with_capacity(nnz),
    };
    j.rows.push(0);
    let pt_off = BA_NCAMPARAMS * b.n;
    let w_off = pt_off + 3 * b.m;
    for (i, &(c, pt)) in b.obs.iter().enumerate() {
        let cam = &b.cams[c * BA_NCAMPARAMS..(c + 1) * BA_NCAMPARAMS];
        let x = &b.x[pt * 3..pt * 3 + 3];
        let feat = &b.feats[2 * i..2 * i + 2];
        for comp in 0..2 {
            let (gc, gx, gw) = reproj_err_pullback(cam, x, b.w[i], feat, comp, 1.0);
            j.cols
                .extend((0..BA_NCAMPARAMS).map(|q| c * BA_NCAMPARAMS + q));
            j.vals.extend_from_slice(&gc);
            j.cols.extend((0..3).map(|q| pt_off + 3 * pt + q));
            j.vals.extend_from_slice(&gx);
            j.cols.push(w_off + i);
            j.vals.push(gw);
            j.rows.push(j.cols.len());
        }
    }
    for i in 0..b.p {
        let (_, g) = weight_err_grad(b.w[i]);
        j.cols.push(w_off + i);
        j.vals.push(g);
        j.rows.push(j.cols.len());
    }
    j
}
