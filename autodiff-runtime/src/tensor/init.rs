//! Seeded random tensors and weight initialisers.
//!
//! Everything is driven by an explicit seed and a small PRNG in this file, never by
//! OS randomness, so tests, examples and training runs reproduce bit for bit on
//! every platform.

use super::{check_rank, shape_numel, Tensor};

/// SplitMix64: tiny, fast, passes BigCrush, and needs no dependency. Not for
/// cryptography.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose whole output is determined by `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[lo, hi)` (up to f32 rounding at `hi`).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        (lo as f64 + (hi as f64 - lo as f64) * self.next_f64()) as f32
    }

    /// Standard normal sample (Box–Muller; one of the pair is discarded to keep
    /// the generator stateless beyond its counter).
    pub fn normal(&mut self) -> f32 {
        // 1 - u is in (0, 1], so ln never sees 0.
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }
}

/// Standard-normal entries.
///
/// # Panics
/// If the rank exceeds 4.
pub fn randn(shape: &[usize], seed: u64) -> Tensor {
    check_rank("randn", shape);
    let mut rng = Rng::new(seed);
    let data = (0..shape_numel(shape)).map(|_| rng.normal()).collect();
    Tensor::from_vec(data, shape)
}

/// Entries uniform in `[lo, hi)`.
///
/// # Panics
/// If the rank exceeds 4.
pub fn rand_uniform(shape: &[usize], lo: f32, hi: f32, seed: u64) -> Tensor {
    check_rank("rand_uniform", shape);
    let mut rng = Rng::new(seed);
    let data = (0..shape_numel(shape))
        .map(|_| rng.uniform(lo, hi))
        .collect();
    Tensor::from_vec(data, shape)
}

/// `(fan_in, fan_out)` of a weight.
///
/// Rank 2 weights are `[in, out]`, because this crate's dense layer is `x · w`
/// with `x: [N, in]` (PyTorch's `Linear` stores `[out, in]`, so its fans are the
/// other way round). Rank 4 weights are conv kernels `[O, C, KH, KW]`:
/// `fan_in = C·KH·KW`, `fan_out = O·KH·KW`, as in PyTorch.
fn fans(op: &str, shape: &[usize]) -> (usize, usize) {
    match shape.len() {
        2 => (shape[0], shape[1]),
        4 => {
            let rf = shape[2] * shape[3];
            (shape[1] * rf, shape[0] * rf)
        }
        _ => panic!(
            "{op}: needs a rank-2 [in, out] or rank-4 [O, C, KH, KW] weight shape, got {shape:?}"
        ),
    }
}

/// He/Kaiming normal init for ReLU networks: `N(0, 2 / fan_in)`, which keeps
/// activation variance constant through ReLU layers. See [`xavier_uniform`]'s
/// notes on fans.
///
/// # Panics
/// If `shape` is not rank 2 (`[in, out]`) or rank 4 (`[O, C, KH, KW]`), or
/// `fan_in` is 0.
pub fn kaiming_normal(shape: &[usize], seed: u64) -> Tensor {
    let (fan_in, _) = fans("kaiming_normal", shape);
    assert!(fan_in > 0, "kaiming_normal: shape {shape:?} has fan_in 0");
    let std = (2.0 / fan_in as f64).sqrt() as f32;
    randn(shape, seed).map(|x| x * std)
}

/// Glorot/Xavier uniform init: `U(−a, a)` with `a = sqrt(6 / (fan_in + fan_out))`,
/// for tanh/sigmoid networks. Rank 2 shapes are `[in, out]` (the `x · w` layout),
/// rank 4 are conv kernels `[O, C, KH, KW]`.
///
/// # Panics
/// If `shape` is not rank 2 or rank 4, or both fans are 0.
pub fn xavier_uniform(shape: &[usize], seed: u64) -> Tensor {
    let (fan_in, fan_out) = fans("xavier_uniform", shape);
    assert!(
        fan_in + fan_out > 0,
        "xavier_uniform: shape {shape:?} has no fan"
    );
    let a = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
    rand_uniform(shape, -a, a, seed)
}
