//! One training step of the lecture's two-layer net and of LeNet, two ways:
//! with the gradients from `#[grad]` (`"impl": "rust-grad"`) and with the
//! backward pass written by hand from the runtime's pullbacks
//! (`"impl": "rust-hand"`). The Rust side of
//! `autodiff-runtime/bench/train_step.py` (numpy and PyTorch); `bench/train_step.sh`
//! runs both and prints the ratios.
//!
//! `cargo run --release --example train_step -- --threads 1 2`
//!
//! Prints, like the Python script, one JSON object per line: per model and
//! implementation a `loss` line (loss before training and after `--loss-steps`
//! steps on a fixed batch) and a timing line `{"impl": .., "model": ..,
//! "threads": N, "step_us": ..}`, the median over `--reps` repeats of a batch
//! of steps after warm-up steps. The two implementations alternate, so both
//! see the same machine.
//!
//! Gradients are taken only for parameters: the data inputs get none, so the
//! first layers use the per-argument pullbacks (`matmul_pullback_rhs`,
//! `conv2d_pullback_weight`) in both.

use std::time::{Duration, Instant};

use autodiff::grad;
use autodiff::runtime::tensor::optim::{Optimizer, Sgd};
use autodiff::runtime::tensor::*;

const N: usize = 64;
const D_IN: usize = 1000;
const H: usize = 100;
const D_OUT: usize = 10;

/// The lecture's numpy net's loss, for `#[grad]`.
#[grad(wrt(w1, w2))]
fn two_layer_loss(x: &Tensor, y: &Tensor, w1: &Tensor, w2: &Tensor) -> f32 {
    let h = sigmoid(&x.matmul(w1));
    let y_pred = h.matmul(w2);
    (&y_pred - y).sqr().sum().item()
}

/// LeNet's loss, for `#[grad]`.
#[grad(wrt(w1, b1, w2, b2, w3, b3, w4, b4))]
#[allow(clippy::too_many_arguments)]
fn lenet_loss(
    w1: &Tensor,
    b1: &Tensor,
    w2: &Tensor,
    b2: &Tensor,
    w3: &Tensor,
    b3: &Tensor,
    w4: &Tensor,
    b4: &Tensor,
    x: &Tensor,
    labels: &[usize],
) -> f32 {
    let h = max_pool2d(&conv2d(x, w1, Some(b1), CONV).relu(), POOL);
    let h = max_pool2d(&conv2d(&h, w2, Some(b2), CONV).relu(), POOL);
    let h = (h.flatten().matmul(w3) + b3).relu();
    softmax_cross_entropy(&(h.matmul(w4) + b4), labels).item()
}

/// The lecture's numpy net, op for op (hand-written backward, no fused sigmoid
/// derivative).
struct TwoLayer {
    x: Tensor,
    y: Tensor,
    w1: Tensor,
    w2: Tensor,
    sgd: Sgd,
}

impl TwoLayer {
    fn new() -> TwoLayer {
        TwoLayer {
            x: randn(&[N, D_IN], 1),
            y: randn(&[N, D_OUT], 2),
            w1: randn(&[D_IN, H], 3),
            w2: randn(&[H, D_OUT], 4),
            sgd: Sgd::new(1e-4),
        }
    }

    fn loss(&self) -> f32 {
        let y_pred = self.x.matmul(&self.w1).sigmoid().matmul(&self.w2);
        (&y_pred - &self.y).sqr().sum().item()
    }

    /// With `#[grad]`; returns the loss before the update.
    fn step_grad(&mut self) -> f32 {
        let (loss, (grad_w1, grad_w2)) = two_layer_loss_grad(&self.x, &self.y, &self.w1, &self.w2);
        self.sgd
            .step(&mut [&mut self.w1, &mut self.w2], &[&grad_w1, &grad_w2]);
        loss
    }

    /// By hand; returns the loss before the update.
    fn step(&mut self) -> f32 {
        let (x, y, w1, w2) = (&self.x, &self.y, &self.w1, &self.w2);
        // h = 1 / (1 + exp(-x·w1))
        let a = x.matmul(w1);
        let h = a.sigmoid();
        // y_pred = h·w2; loss = Σ (y_pred - y)²
        let y_pred = h.matmul(w2);
        let diff = &y_pred - y;
        let loss = diff.sqr().sum().item();
        // grad_y_pred = 2 (y_pred - y)
        let grad_y_pred = &diff * 2.0;
        // grad_w2 = hᵀ·grad_y_pred; grad_h = grad_y_pred·w2ᵀ
        let grad_w2 = matmul_pullback_rhs(&h, w2, &y_pred, &grad_y_pred);
        let grad_h = matmul_pullback_lhs(&h, w2, &y_pred, &grad_y_pred);
        // grad_w1 = xᵀ·(grad_h * h * (1 - h))
        let grad_a = &(&grad_h * &h) * &(1.0 - &h);
        let grad_w1 = matmul_pullback_rhs(x, w1, &a, &grad_a);
        self.sgd
            .step(&mut [&mut self.w1, &mut self.w2], &[&grad_w1, &grad_w2]);
        loss
    }
}

/// Weights and biases drawn like PyTorch's defaults for `Conv2d`/`Linear`
/// (uniform in ±1/√fan_in), so the loss curve is comparable to `train_step.py`.
fn torch_init(shape: &[usize], fan_in: usize, seed: u64) -> Tensor {
    let bound = 1.0 / (fan_in as f32).sqrt();
    rand_uniform(shape, -bound, bound, seed)
}

struct LeNet {
    x: Tensor,
    labels: Vec<usize>,
    /// conv1 w, b, conv2 w, b, fc1 w [800, 500], b, fc2 w [500, 10], b.
    p: Vec<Tensor>,
    sgd: Sgd,
}

const CONV: Conv2dParams = Conv2dParams {
    stride: (1, 1),
    padding: (0, 0),
    dilation: (1, 1),
    groups: 1,
};
const POOL: Pool2dParams = Pool2dParams {
    kernel: (2, 2),
    stride: (2, 2),
    padding: (0, 0),
};

impl LeNet {
    fn new() -> LeNet {
        let mut rng = Rng::new(7);
        LeNet {
            x: randn(&[N, 1, 28, 28], 5),
            labels: (0..N).map(|_| (rng.next_u64() % 10) as usize).collect(),
            p: vec![
                torch_init(&[20, 1, 5, 5], 25, 10),
                torch_init(&[20], 25, 11),
                torch_init(&[50, 20, 5, 5], 500, 12),
                torch_init(&[50], 500, 13),
                torch_init(&[800, 500], 800, 14),
                torch_init(&[500], 800, 15),
                torch_init(&[500, 10], 500, 16),
                torch_init(&[10], 500, 17),
            ],
            sgd: Sgd::new(0.01),
        }
    }

    fn loss(&self) -> f32 {
        let p = &self.p;
        let h = max_pool2d(&conv2d(&self.x, &p[0], Some(&p[1]), CONV).relu(), POOL);
        let h = max_pool2d(&conv2d(&h, &p[2], Some(&p[3]), CONV).relu(), POOL);
        let h = (&h.flatten().matmul(&p[4]) + &p[5]).relu();
        softmax_cross_entropy(&(&h.matmul(&p[6]) + &p[7]), &self.labels).item()
    }

    /// With `#[grad]`; returns the loss before the update.
    fn step_grad(&mut self) -> f32 {
        let p = &self.p;
        let (loss, g) = lenet_loss_grad(
            &p[0],
            &p[1],
            &p[2],
            &p[3],
            &p[4],
            &p[5],
            &p[6],
            &p[7],
            &self.x,
            &self.labels,
        );
        let grads = [&g.0, &g.1, &g.2, &g.3, &g.4, &g.5, &g.6, &g.7];
        let mut params: Vec<&mut Tensor> = self.p.iter_mut().collect();
        self.sgd.step(&mut params, &grads);
        loss
    }

    /// By hand; returns the loss before the update.
    fn step(&mut self) -> f32 {
        let (x, p) = (&self.x, &self.p);
        // Forward, keeping every intermediate the backward pass reads.
        let a1 = conv2d(x, &p[0], Some(&p[1]), CONV);
        let r1 = a1.relu();
        let p1 = max_pool2d(&r1, POOL);
        let a2 = conv2d(&p1, &p[2], Some(&p[3]), CONV);
        let r2 = a2.relu();
        let p2 = max_pool2d(&r2, POOL);
        let f = p2.flatten();
        let m3 = f.matmul(&p[4]);
        let z3 = &m3 + &p[5];
        let r3 = z3.relu();
        let m4 = r3.matmul(&p[6]);
        let z4 = &m4 + &p[7];
        let loss = softmax_cross_entropy(&z4, &self.labels);

        // Backward.
        let g4 = softmax_cross_entropy_pullback(&z4, &self.labels, &loss, &Tensor::scalar(1.0));
        let gb4 = add_pullback_rhs(&m4, &p[7], &z4, &g4);
        let gw4 = matmul_pullback_rhs(&r3, &p[6], &m4, &g4);
        let gr3 = matmul_pullback_lhs(&r3, &p[6], &m4, &g4);
        let gz3 = relu_pullback(&z3, &r3, &gr3);
        let gb3 = add_pullback_rhs(&m3, &p[5], &z3, &gz3);
        let gw3 = matmul_pullback_rhs(&f, &p[4], &m3, &gz3);
        let gf = matmul_pullback_lhs(&f, &p[4], &m3, &gz3);
        let gp2 = flatten_pullback(&p2, &f, &gf);
        let gr2 = max_pool2d_pullback(&r2, POOL, &p2, &gp2);
        let ga2 = relu_pullback(&a2, &r2, &gr2);
        let (gp1, gw2, gb2) = conv2d_pullback(&p1, &p[2], Some(&p[3]), CONV, &a2, &ga2);
        let gr1 = max_pool2d_pullback(&r1, POOL, &p1, &gp1);
        let ga1 = relu_pullback(&a1, &r1, &gr1);
        // x is data: no input gradient for the first convolution.
        let gw1 = conv2d_pullback_weight(x, &p[0], Some(&p[1]), CONV, &a1, &ga1);
        let gb1 = conv2d_pullback_bias(x, &p[0], Some(&p[1]), CONV, &a1, &ga1);
        let gb2 = gb2.expect("conv2 has a bias");

        let grads = [&gw1, &gb1, &gw2, &gb2, &gw3, &gb3, &gw4, &gb4];
        let mut params: Vec<&mut Tensor> = self.p.iter_mut().collect();
        self.sgd.step(&mut params, &grads);
        loss.item()
    }
}

struct Opts {
    threads: Vec<usize>,
    reps: usize,
    warmup: usize,
    two_layer_steps: usize,
    lenet_steps: usize,
    loss_steps: usize,
    models: Vec<String>,
}

fn parse() -> Opts {
    let mut o = Opts {
        threads: vec![1],
        reps: 9,
        warmup: 10,
        two_layer_steps: 50,
        lenet_steps: 5,
        loss_steps: 100,
        models: vec!["two_layer".into(), "lenet".into()],
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    // Values of a flag run up to the next `--flag`.
    let values = |i: &mut usize| -> Vec<String> {
        let mut v = Vec::new();
        while *i + 1 < args.len() && !args[*i + 1].starts_with("--") {
            *i += 1;
            v.push(args[*i].clone());
        }
        v
    };
    let num = |flag: &str, v: &[String]| -> usize {
        match v {
            [one] => one
                .parse()
                .unwrap_or_else(|_| panic!("{flag}: not a number: {one}")),
            _ => panic!("{flag} takes one number"),
        }
    };
    while i < args.len() {
        let flag = args[i].clone();
        let v = values(&mut i);
        match flag.as_str() {
            "--threads" => {
                o.threads = v
                    .iter()
                    .map(|s| s.parse().expect("--threads: not a number"))
                    .collect()
            }
            "--reps" => o.reps = num(&flag, &v),
            "--warmup" => o.warmup = num(&flag, &v),
            "--two-layer-steps" => o.two_layer_steps = num(&flag, &v),
            "--lenet-steps" => o.lenet_steps = num(&flag, &v),
            "--loss-steps" => o.loss_steps = num(&flag, &v),
            "--models" => o.models = v,
            _ => panic!("unknown argument {flag}"),
        }
        i += 1;
    }
    assert!(
        o.reps > 0 && o.loss_steps > 0,
        "--reps and --loss-steps must be positive"
    );
    o
}

/// Time of one step of `step`, over `per_rep` steps.
fn time_steps<M>(per_rep: usize, m: &mut M, step: fn(&mut M) -> f32) -> f64 {
    let t = Instant::now();
    for _ in 0..per_rep {
        std::hint::black_box(step(m));
    }
    t.elapsed().as_secs_f64() / per_rep as f64
}

/// Keeps every worker of the current pool busy for 200 ms before measuring: a
/// VM halts idle vCPUs, and their first wake-ups are slow (see kernels_bench).
fn wake_workers() {
    let until = Instant::now() + Duration::from_millis(200);
    rayon::broadcast(|_| {
        while Instant::now() < until {
            std::hint::spin_loop();
        }
    });
}

/// The two implementations of one model's step: `#[grad]` and by hand.
type Steps<M> = [(&'static str, fn(&mut M) -> f32); 2];

/// Per implementation, the loss line and the median step time; the
/// implementations' repeats alternate, so drift in the machine's speed
/// reaches both alike.
fn report<M>(
    o: &Opts,
    threads: usize,
    model: &str,
    per_rep: usize,
    new: impl Fn() -> M,
    steps: Steps<M>,
    loss: impl Fn(&M) -> f32,
) {
    for (name, step) in steps {
        let mut m = new();
        let first = step(&mut m);
        for _ in 1..o.loss_steps {
            step(&mut m);
        }
        println!(
            "{{\"impl\": \"{name}\", \"model\": \"{model}\", \"threads\": {threads}, \
             \"loss_steps\": {}, \"loss_first\": {first}, \"loss_final\": {}}}",
            o.loss_steps,
            loss(&m)
        );
    }
    let mut ms: Vec<M> = steps.iter().map(|_| new()).collect();
    for (m, (_, step)) in ms.iter_mut().zip(steps) {
        for _ in 0..o.warmup {
            std::hint::black_box(step(m));
        }
    }
    let mut times = vec![Vec::new(); steps.len()];
    for _ in 0..o.reps {
        for (k, (m, (_, step))) in ms.iter_mut().zip(steps).enumerate() {
            times[k].push(time_steps(per_rep, m, step));
        }
    }
    for ((name, _), mut ts) in steps.into_iter().zip(times) {
        ts.sort_by(f64::total_cmp);
        let us = ts[ts.len() / 2] * 1e6;
        println!(
            "{{\"impl\": \"{name}\", \"model\": \"{model}\", \"threads\": {threads}, \
             \"step_us\": {us:.2}}}"
        );
    }
}

fn main() {
    let o = parse();
    for &threads in &o.threads {
        with_threads(threads, || {
            wake_workers();
            if o.models.iter().any(|m| m == "two_layer") {
                report(
                    &o,
                    threads,
                    "two_layer",
                    o.two_layer_steps,
                    TwoLayer::new,
                    [
                        ("rust-grad", TwoLayer::step_grad),
                        ("rust-hand", TwoLayer::step),
                    ],
                    TwoLayer::loss,
                );
            }
            if o.models.iter().any(|m| m == "lenet") {
                report(
                    &o,
                    threads,
                    "lenet",
                    o.lenet_steps,
                    LeNet::new,
                    [("rust-grad", LeNet::step_grad), ("rust-hand", LeNet::step)],
                    LeNet::loss,
                );
            }
        });
    }
}
