//! Deterministic instances in ADBench's text formats.
//!
//! GMM (`read_gmm_instance` in ADBench's `src/cpp/shared/utils.cpp`): first
//! line `d k n`, then the `k` alphas, the `k` means (`d` numbers each), the
//! `k` icf rows (`d(d+1)/2` numbers each), the `n` points (`d` numbers each),
//! and last `gamma m`. Numbers are whitespace-separated; we write one row per
//! line.
//!
//! BA (`read_ba_instance`): first line `n m p`, then one camera (11 numbers),
//! one point (3), one weight (1) and one feature (2); ADBench replicates them
//! to all cameras, points, weights and features, and observation `i` is
//! `(camera i % n, point i % m)`. [`BaInstance::from_text`] does the same.
//! [`BaInstance::generate`] draws every camera, point, weight and feature
//! separately instead (a replicated instance makes every Jacobian block the
//! same, which would make a poor test); [`BaInstance::to_text`] writes only
//! the first of each, as ADBench's files hold.

use std::fmt::Write as _;

/// A small seeded PRNG (SplitMix64) with uniform and normal draws.
#[derive(Clone, Debug)]
pub struct Rng(autodiff::runtime::tensor::Rng);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(autodiff::runtime::tensor::Rng::new(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        self.0.next_f64()
    }

    /// Standard normal (Box–Muller; one draw per call).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// A GMM instance: `alphas` (k), `means` (k×d), `icf` (k × d(d+1)/2),
/// points `x` (n×d), Wishart prior `(gamma, m)`.
#[derive(Clone, Debug, PartialEq)]
pub struct GmmInstance {
    pub d: usize,
    pub k: usize,
    pub n: usize,
    pub alphas: Vec<f64>,
    pub means: Vec<f64>,
    pub icf: Vec<f64>,
    pub x: Vec<f64>,
    pub gamma: f64,
    pub m: i32,
}

/// ADBench's GMM grid: d ∈ {2, 10, 20, 32, 64}, K ∈ {5, 10, 25, 50, 100}.
pub const GMM_D: [usize; 5] = [2, 10, 20, 32, 64];
pub const GMM_K: [usize; 5] = [5, 10, 25, 50, 100];

impl GmmInstance {
    /// Draws an instance the way ADBench's generator does: alphas, icf and
    /// points standard normal, means uniform in `[0, 1)`, `gamma = 1`, `m = 0`.
    pub fn generate(d: usize, k: usize, n: usize, seed: u64) -> Self {
        let mut r = Rng::new(seed ^ ((d as u64) << 32) ^ ((k as u64) << 16) ^ n as u64);
        let icf_sz = d * (d + 1) / 2;
        let alphas = (0..k).map(|_| r.normal()).collect();
        let means = (0..k * d).map(|_| r.uniform()).collect();
        let icf = (0..k * icf_sz).map(|_| r.normal()).collect();
        let x = (0..n * d).map(|_| r.normal()).collect();
        GmmInstance {
            d,
            k,
            n,
            alphas,
            means,
            icf,
            x,
            gamma: 1.0,
            m: 0,
        }
    }

    /// The instance in ADBench's text format (shortest round-tripping decimals).
    pub fn to_text(&self) -> String {
        let icf_sz = self.d * (self.d + 1) / 2;
        let mut s = format!("{} {} {}\n", self.d, self.k, self.n);
        for a in &self.alphas {
            writeln!(s, "{a:e}").unwrap();
        }
        let rows = |s: &mut String, v: &[f64], w: usize| {
            for row in v.chunks(w) {
                let line: Vec<String> = row.iter().map(|v| format!("{v:e}")).collect();
                writeln!(s, "{}", line.join(" ")).unwrap();
            }
        };
        rows(&mut s, &self.means, self.d);
        rows(&mut s, &self.icf, icf_sz);
        rows(&mut s, &self.x, self.d);
        writeln!(s, "{:e} {}", self.gamma, self.m).unwrap();
        s
    }

    /// Parses ADBench's format (all points read, no replication).
    pub fn from_text(text: &str) -> Result<Self, String> {
        let mut t = text.split_whitespace();
        let mut int = |what: &str| -> Result<usize, String> {
            t.next()
                .ok_or(format!("missing {what}"))?
                .parse::<usize>()
                .map_err(|e| format!("{what}: {e}"))
        };
        let (d, k, n) = (int("d")?, int("k")?, int("n")?);
        let mut nums = text.split_whitespace().skip(3);
        let mut take = |count: usize, what: &str| -> Result<Vec<f64>, String> {
            (0..count)
                .map(|_| {
                    nums.next()
                        .ok_or(format!("missing {what}"))?
                        .parse::<f64>()
                        .map_err(|e| format!("{what}: {e}"))
                })
                .collect()
        };
        let icf_sz = d * (d + 1) / 2;
        let alphas = take(k, "alphas")?;
        let means = take(k * d, "means")?;
        let icf = take(k * icf_sz, "icf")?;
        let x = take(n * d, "x")?;
        let gamma = take(1, "gamma")?[0];
        let m = take(1, "m")?[0] as i32;
        Ok(GmmInstance {
            d,
            k,
            n,
            alphas,
            means,
            icf,
            x,
            gamma,
            m,
        })
    }

    /// Reads `dir/gmm_d{d}_K{k}_n{n}.txt`, writing it first if it is missing
    /// (the folder `data/` of this crate is git-ignored).
    pub fn load_or_generate(dir: &std::path::Path, d: usize, k: usize, n: usize) -> Self {
        let path = dir.join(format!("gmm_d{d}_K{k}_n{n}.txt"));
        if let Ok(text) = std::fs::read_to_string(&path) {
            if let Ok(inst) = Self::from_text(&text) {
                return inst;
            }
        }
        let inst = Self::generate(d, k, n, 1);
        let _ = std::fs::create_dir_all(dir);
        let _ = std::fs::write(&path, inst.to_text());
        inst
    }
}

/// Number of parameters of one camera.
pub const BA_NCAMPARAMS: usize = 11;

/// A bundle-adjustment instance: `n` cameras, `m` points, `p` observations.
#[derive(Clone, Debug, PartialEq)]
pub struct BaInstance {
    pub n: usize,
    pub m: usize,
    pub p: usize,
    /// 11 per camera: Rodrigues rotation (3), centre (3), focal (1),
    /// principal point (2), radial distortion (2).
    pub cams: Vec<f64>,
    /// 3 per point.
    pub x: Vec<f64>,
    /// 1 per observation.
    pub w: Vec<f64>,
    /// `(camera, point)` per observation.
    pub obs: Vec<(usize, usize)>,
    /// 2 per observation.
    pub feats: Vec<f64>,
}

impl BaInstance {
    /// `(camera, point)` per observation, flattened: the `obs` argument of
    /// [`crate::ba::ba_half_sq_loss`].
    pub fn flat_obs(&self) -> Vec<usize> {
        self.obs.iter().flat_map(|&(c, pt)| [c, pt]).collect()
    }

    /// Draws cameras near the origin looking down +z at points in front of
    /// them, so that projections are well defined (z far from 0).
    pub fn generate(n: usize, m: usize, p: usize, seed: u64) -> Self {
        let mut r = Rng::new(seed ^ ((n as u64) << 40) ^ ((m as u64) << 20) ^ p as u64);
        let mut cams = Vec::with_capacity(n * BA_NCAMPARAMS);
        for _ in 0..n {
            for _ in 0..3 {
                cams.push(0.2 * r.normal()); // rotation
            }
            for _ in 0..3 {
                cams.push(0.5 * r.normal()); // centre
            }
            cams.push(1.0 + 0.2 * r.uniform()); // focal
            cams.push(0.1 * r.normal()); // principal point
            cams.push(0.1 * r.normal());
            cams.push(0.01 * r.normal()); // radial distortion
            cams.push(0.01 * r.normal());
        }
        let mut x = Vec::with_capacity(3 * m);
        for _ in 0..m {
            x.push(r.normal());
            x.push(r.normal());
            x.push(8.0 + 2.0 * r.uniform());
        }
        let w = (0..p).map(|_| 0.5 + r.uniform()).collect();
        let obs = (0..p).map(|i| (i % n, i % m)).collect();
        let feats = (0..2 * p).map(|_| 0.2 * r.normal()).collect();
        BaInstance {
            n,
            m,
            p,
            cams,
            x,
            w,
            obs,
            feats,
        }
    }

    /// ADBench's format: `n m p`, then the first camera, point, weight and feature.
    pub fn to_text(&self) -> String {
        let line = |v: &[f64]| {
            v.iter()
                .map(|v| format!("{v:e}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        format!(
            "{} {} {}\n{}\n{}\n{:e}\n{}\n",
            self.n,
            self.m,
            self.p,
            line(&self.cams[..BA_NCAMPARAMS]),
            line(&self.x[..3]),
            self.w[0],
            line(&self.feats[..2])
        )
    }

    /// Parses ADBench's format and replicates as `read_ba_instance` does.
    pub fn from_text(text: &str) -> Result<Self, String> {
        let mut t = text.split_whitespace();
        let mut next =
            |what: &str| -> Result<&str, String> { t.next().ok_or(format!("missing {what}")) };
        let n: usize = next("n")?.parse().map_err(|e| format!("n: {e}"))?;
        let m: usize = next("m")?.parse().map_err(|e| format!("m: {e}"))?;
        let p: usize = next("p")?.parse().map_err(|e| format!("p: {e}"))?;
        let mut nums = Vec::new();
        for _ in 0..BA_NCAMPARAMS + 3 + 1 + 2 {
            nums.push(next("number")?.parse::<f64>().map_err(|e| e.to_string())?);
        }
        let cam = &nums[..BA_NCAMPARAMS];
        let pt = &nums[BA_NCAMPARAMS..BA_NCAMPARAMS + 3];
        let w0 = nums[BA_NCAMPARAMS + 3];
        let feat = &nums[BA_NCAMPARAMS + 4..];
        Ok(BaInstance {
            n,
            m,
            p,
            cams: cam.repeat(n),
            x: pt.repeat(m),
            w: vec![w0; p],
            obs: (0..p).map(|i| (i % n, i % m)).collect(),
            feats: feat.repeat(p),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmm_text_round_trip() {
        let g = GmmInstance::generate(3, 4, 5, 7);
        assert_eq!(GmmInstance::from_text(&g.to_text()).unwrap(), g);
    }

    #[test]
    fn ba_text_replicates() {
        let b = BaInstance::generate(3, 4, 10, 7);
        let r = BaInstance::from_text(&b.to_text()).unwrap();
        assert_eq!((r.n, r.m, r.p), (3, 4, 10));
        assert_eq!(&r.cams[11..22], &b.cams[..11]);
        assert_eq!(r.obs[7], (1, 3));
    }
}
