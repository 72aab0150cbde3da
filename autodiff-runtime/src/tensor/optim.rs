//! First-order optimizers and learning-rate schedules.
//!
//! Optimizers take parameters and their gradients as two parallel slices, because
//! the code `#[grad]` generates returns gradients as plain values rather than
//! storing them inside the parameters. Stateful optimizers (momentum, Adam) keep
//! one state tensor per parameter position, so the same parameters must be passed
//! in the same order on every step.
//!
//! Schedules are pure functions of the epoch/step: no hidden counters to save or
//! restore.

use super::Tensor;

/// Common interface, so training loops can swap optimizers.
pub trait Optimizer {
    /// Updates every `params[i]` in place using `grads[i]`.
    ///
    /// # Panics
    /// If the slices differ in length, a gradient's shape differs from its
    /// parameter's, or (stateful optimizers) the parameter shapes changed since
    /// the first step.
    fn step(&mut self, params: &mut [&mut Tensor], grads: &[&Tensor]);
    /// The learning rate the next step will use.
    fn lr(&self) -> f32;
    /// Changes the learning rate (e.g. from a schedule) without touching state.
    fn set_lr(&mut self, lr: f32);
}

fn check(op: &str, params: &[&mut Tensor], grads: &[&Tensor]) {
    assert!(
        params.len() == grads.len(),
        "{op}: {} parameters but {} gradients",
        params.len(),
        grads.len()
    );
    for (i, (p, g)) in params.iter().zip(grads).enumerate() {
        assert!(
            p.shape() == g.shape(),
            "{op}: parameter {i} has shape {:?} but its gradient has shape {:?}",
            p.shape(),
            g.shape()
        );
    }
}

/// Lazily creates one zero state tensor per parameter, and checks that later
/// steps see the same parameter shapes.
fn ensure_state(op: &str, state: &mut Vec<Tensor>, params: &[&mut Tensor]) {
    if state.is_empty() {
        *state = params.iter().map(|p| Tensor::zeros_like(p)).collect();
        return;
    }
    assert!(
        state.len() == params.len()
            && state
                .iter()
                .zip(params)
                .all(|(s, p)| s.shape() == p.shape()),
        "{op}: parameters changed since the first step (expected shapes {:?})",
        state.iter().map(|s| s.shape().to_vec()).collect::<Vec<_>>()
    );
}

/// Plain gradient descent: `p ← p − lr·g`.
#[derive(Clone, Debug)]
pub struct Sgd {
    /// Learning rate.
    pub lr: f32,
}

impl Sgd {
    /// SGD with learning rate `lr`.
    pub fn new(lr: f32) -> Sgd {
        Sgd { lr }
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, params: &mut [&mut Tensor], grads: &[&Tensor]) {
        check("Sgd::step", params, grads);
        for (p, g) in params.iter_mut().zip(grads) {
            for (x, &d) in p.data_mut().iter_mut().zip(g.data()) {
                *x -= self.lr * d;
            }
        }
    }
    fn lr(&self) -> f32 {
        self.lr
    }
    fn set_lr(&mut self, lr: f32) {
        self.lr = lr;
    }
}

/// SGD with momentum, PyTorch's formulation: `v ← μ·v + g` (with `v = g` on the
/// first step), `p ← p − lr·v`. Unlike the `v ← μv − lr·g` textbook form, changing
/// `lr` mid-run rescales the whole step immediately.
#[derive(Clone, Debug)]
pub struct Momentum {
    /// Learning rate.
    pub lr: f32,
    /// Momentum factor μ (typically 0.9).
    pub momentum: f32,
    velocity: Vec<Tensor>,
}

impl Momentum {
    /// Momentum SGD; velocity state is created on the first step.
    pub fn new(lr: f32, momentum: f32) -> Momentum {
        Momentum {
            lr,
            momentum,
            velocity: Vec::new(),
        }
    }
}

impl Optimizer for Momentum {
    fn step(&mut self, params: &mut [&mut Tensor], grads: &[&Tensor]) {
        check("Momentum::step", params, grads);
        let first = self.velocity.is_empty();
        ensure_state("Momentum::step", &mut self.velocity, params);
        for ((p, g), v) in params.iter_mut().zip(grads).zip(&mut self.velocity) {
            for ((x, &d), vel) in p.data_mut().iter_mut().zip(g.data()).zip(v.data_mut()) {
                *vel = if first { d } else { self.momentum * *vel + d };
                *x -= self.lr * *vel;
            }
        }
    }
    fn lr(&self) -> f32 {
        self.lr
    }
    fn set_lr(&mut self, lr: f32) {
        self.lr = lr;
    }
}

/// Adam with bias correction (Kingma & Ba, as in PyTorch without weight decay):
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
/// `p ← p − lr · m̂ / (sqrt(v̂) + ε)` with `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)`.
#[derive(Clone, Debug)]
pub struct Adam {
    /// Learning rate.
    pub lr: f32,
    /// Decay of the first-moment average.
    pub beta1: f32,
    /// Decay of the second-moment average.
    pub beta2: f32,
    /// Added to the denominator to avoid division by zero.
    pub eps: f32,
    t: u32,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
}

impl Adam {
    /// Adam with the usual defaults `β₁ = 0.9, β₂ = 0.999, ε = 1e-8`.
    pub fn new(lr: f32) -> Adam {
        Adam::with_params(lr, 0.9, 0.999, 1e-8)
    }

    /// Adam with explicit hyper-parameters.
    pub fn with_params(lr: f32, beta1: f32, beta2: f32, eps: f32) -> Adam {
        Adam {
            lr,
            beta1,
            beta2,
            eps,
            t: 0,
            m: Vec::new(),
            v: Vec::new(),
        }
    }

    /// Number of steps taken so far.
    pub fn steps(&self) -> u32 {
        self.t
    }
}

impl Optimizer for Adam {
    fn step(&mut self, params: &mut [&mut Tensor], grads: &[&Tensor]) {
        check("Adam::step", params, grads);
        ensure_state("Adam::step", &mut self.m, params);
        ensure_state("Adam::step", &mut self.v, params);
        self.t += 1;
        let (b1, b2) = (self.beta1, self.beta2);
        let c1 = 1.0 - (b1 as f64).powi(self.t as i32);
        let c2 = 1.0 - (b2 as f64).powi(self.t as i32);
        for (i, (p, g)) in params.iter_mut().zip(grads).enumerate() {
            let (m, v) = (self.m[i].data_mut(), self.v[i].data_mut());
            for (j, (x, &d)) in p.data_mut().iter_mut().zip(g.data()).enumerate() {
                m[j] = b1 * m[j] + (1.0 - b1) * d;
                v[j] = b2 * v[j] + (1.0 - b2) * d * d;
                let mhat = m[j] as f64 / c1;
                let vhat = v[j] as f64 / c2;
                *x -= (self.lr as f64 * mhat / (vhat.sqrt() + self.eps as f64)) as f32;
            }
        }
    }
    fn lr(&self) -> f32 {
        self.lr
    }
    fn set_lr(&mut self, lr: f32) {
        self.lr = lr;
    }
}

/// Step decay: `base_lr · gamma^⌊epoch / step_size⌋` (PyTorch's `StepLR`).
#[derive(Clone, Copy, Debug)]
pub struct StepLr {
    /// Learning rate at epoch 0.
    pub base_lr: f32,
    /// Epochs between decays.
    pub step_size: usize,
    /// Multiplicative decay per step.
    pub gamma: f32,
}

impl StepLr {
    /// Learning rate for `epoch` (0-based).
    ///
    /// # Panics
    /// If `step_size` is 0.
    pub fn lr(&self, epoch: usize) -> f32 {
        assert!(self.step_size > 0, "StepLr: step_size must be positive");
        self.base_lr * self.gamma.powi((epoch / self.step_size) as i32)
    }
}

/// Cosine annealing from `base_lr` at step 0 to `min_lr` at `total_steps`, then
/// flat: `min + (base − min)·(1 + cos(π·t/T))/2` (PyTorch's `CosineAnnealingLR`
/// without restarts).
#[derive(Clone, Copy, Debug)]
pub struct CosineLr {
    /// Learning rate at step 0.
    pub base_lr: f32,
    /// Learning rate from `total_steps` on.
    pub min_lr: f32,
    /// Length of the annealing.
    pub total_steps: usize,
}

impl CosineLr {
    /// Learning rate for step (or epoch) `t`.
    pub fn lr(&self, t: usize) -> f32 {
        if self.total_steps == 0 || t >= self.total_steps {
            return self.min_lr;
        }
        let frac = t as f64 / self.total_steps as f64;
        let cos = (1.0 + (std::f64::consts::PI * frac).cos()) / 2.0;
        (self.min_lr as f64 + (self.base_lr as f64 - self.min_lr as f64) * cos) as f32
    }
}
