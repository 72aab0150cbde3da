//! Softmax, losses, optimizers and schedules; finite-difference tolerances are
//! described in `common/mod.rs`.

mod common;

use autodiff_runtime::tensor::optim::{Adam, CosineLr, Momentum, Optimizer, Sgd, StepLr};
use autodiff_runtime::tensor::*;
use common::GradCheck;

#[test]
fn softmax_rows_sum_to_one() {
    let x = randn(&[4, 7], 1).map(|v| v * 5.0);
    let s = softmax(&x);
    for row in s.data().chunks(7) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
    let ls = log_softmax(&x);
    assert!(ls.allclose(&ln(&s), 1e-5, 1e-5));
}

#[test]
fn softmax_pullbacks() {
    for (i, s) in [&[5][..], &[3, 4], &[2, 3, 6]].iter().enumerate() {
        let x = randn(s, i as u64);
        GradCheck::default().run(
            "softmax",
            std::slice::from_ref(&x),
            |t| softmax(&t[0]),
            |t, y, g| vec![softmax_pullback(&t[0], y, g)],
        );
        GradCheck::default().run(
            "log_softmax",
            &[x],
            |t| log_softmax(&t[0]),
            |t, y, g| vec![log_softmax_pullback(&t[0], y, g)],
        );
    }
}

#[test]
fn cross_entropy_value_and_pullback() {
    // Uniform logits over C classes: loss = ln C.
    let l = softmax_cross_entropy(&Tensor::zeros(&[3, 5]), &[0, 4, 2]);
    assert!((l.item() - 5f32.ln()).abs() < 1e-6);
    let x = randn(&[6, 4], 3);
    let labels = [0, 3, 1, 1, 2, 0];
    GradCheck::default().run(
        "softmax_cross_entropy",
        &[x],
        |t| softmax_cross_entropy(&t[0], &labels),
        |t, y, g| vec![softmax_cross_entropy_pullback(&t[0], &labels, y, g)],
    );
}

#[test]
fn cross_entropy_is_finite_for_huge_logits() {
    let x = Tensor::from_vec(vec![1e4, -1e4, 0.0, -1e4, 1e4, 1e4], &[2, 3]);
    let labels = [1, 0];
    let l = softmax_cross_entropy(&x, &labels);
    assert!(l.item().is_finite());
    // Row 0: label logit is 2e4 below the max; row 1: 2e4 below two maxima.
    let expected = (2e4 + (2e4 + 2f64.ln())) / 2.0;
    assert!((l.item() as f64 - expected).abs() / expected < 1e-6);
    let g = softmax_cross_entropy_pullback(&x, &labels, &l, &Tensor::scalar(1.0));
    assert!(g.data().iter().all(|v| v.is_finite()));
    let ls = log_softmax(&x);
    assert!(ls.data().iter().all(|v| v.is_finite()));
    assert!(softmax(&x).data().iter().all(|v| v.is_finite()));
}

#[test]
#[should_panic(
    expected = "softmax_cross_entropy: scores [2, 3]: label 3 at position 1 is out of range 0..3"
)]
fn cross_entropy_bad_label() {
    let _ = softmax_cross_entropy(&Tensor::zeros(&[2, 3]), &[0, 3]);
}

#[test]
#[should_panic(expected = "softmax_cross_entropy: scores [2, 3] need 2 labels, got 3")]
fn cross_entropy_label_count() {
    let _ = softmax_cross_entropy(&Tensor::zeros(&[2, 3]), &[0, 1, 2]);
}

#[test]
fn hinge_lecture_example() {
    // The lecture's three examples (cat, car, frog), scores as columns there.
    let scores = Tensor::from_vec(vec![3.2, 5.1, -1.7, 1.3, 4.9, 2.0, 2.2, 2.5, -3.1], &[3, 3]);
    let labels = [0, 1, 2];
    // Per-example losses 2.9, 0, 12.9; mean 5.27 (lecture: 5.27).
    let l = multiclass_hinge(&scores, &labels);
    assert!((l.item() - 15.8 / 3.0).abs() < 1e-5, "{}", l.item());
    let g = multiclass_hinge_pullback(&scores, &labels, &l, &Tensor::scalar(3.0));
    // Example 0: only class 1 active (5.1-3.2+1 > 0), class 2 not (-1.7-3.2+1 < 0).
    assert_eq!(&g.data()[0..3], &[-1.0, 1.0, 0.0]);
    // Example 1: no active margins.
    assert_eq!(&g.data()[3..6], &[0.0, 0.0, 0.0]);
    // Example 2: both other classes active.
    assert_eq!(&g.data()[6..9], &[1.0, 1.0, -2.0]);
}

#[test]
fn hinge_pullback_matches_finite_differences() {
    // Scores on a 0.1 grid, label scores shifted by 0.05: every margin is at
    // least 0.05 away from the kink at 0.
    let n = 5;
    let c = 4;
    let labels = [0, 3, 2, 2, 1];
    let base = randn(&[n, c], 9);
    let mut s = base.map(|v| (v * 10.0).round() / 10.0);
    for (i, &l) in labels.iter().enumerate() {
        s.data_mut()[i * c + l] += 0.05;
    }
    GradCheck::h(1e-3).run(
        "multiclass_hinge",
        &[s],
        |t| multiclass_hinge(&t[0], &labels),
        |t, y, g| vec![multiclass_hinge_pullback(&t[0], &labels, y, g)],
    );
}

#[test]
fn mse_and_l2() {
    let a = Tensor::from_vec(vec![1., 2., 3.], &[3]);
    let b = Tensor::from_vec(vec![1., 0., 0.], &[3]);
    assert!((mse(&a, &b).item() - 13.0 / 3.0).abs() < 1e-6);
    assert_eq!(l2(&a).item(), 14.0);
    let x = randn(&[3, 4], 1);
    let y = randn(&[3, 4], 2);
    GradCheck::default().run(
        "mse",
        &[x.clone(), y],
        |t| mse(&t[0], &t[1]),
        |t, o, g| {
            let (p, q) = mse_pullback(&t[0], &t[1], o, g);
            vec![p, q]
        },
    );
    GradCheck::default().run(
        "l2",
        &[x],
        |t| l2(&t[0]),
        |t, o, g| vec![l2_pullback(&t[0], o, g)],
    );
}

#[test]
#[should_panic(expected = "mse: prediction has shape [3] but target has shape [1, 3]")]
fn mse_shape_mismatch() {
    let _ = mse(&Tensor::zeros(&[3]), &Tensor::zeros(&[1, 3]));
}

#[test]
fn sgd_step() {
    let mut p = Tensor::from_vec(vec![1.0, 2.0], &[2]);
    let g = Tensor::from_vec(vec![0.5, -1.0], &[2]);
    Sgd::new(0.1).step(&mut [&mut p], &[&g]);
    assert_eq!(p.data(), &[0.95, 2.1]);
}

#[test]
fn momentum_matches_pytorch_recurrence() {
    // PyTorch: v1 = g1, v2 = 0.9 v1 + g2; p -= lr v.
    let mut p = Tensor::from_vec(vec![1.0], &[1]);
    let mut opt = Momentum::new(0.1, 0.9);
    opt.step(&mut [&mut p], &[&Tensor::from_vec(vec![1.0], &[1])]);
    assert!((p.data()[0] - 0.9).abs() < 1e-7);
    opt.step(&mut [&mut p], &[&Tensor::from_vec(vec![2.0], &[1])]);
    // v2 = 0.9 + 2 = 2.9; p = 0.9 - 0.29 = 0.61
    assert!((p.data()[0] - 0.61).abs() < 1e-6);
}

#[test]
fn adam_first_steps() {
    // With bias correction the first step is lr * sign(g) (up to eps).
    let mut p = Tensor::from_vec(vec![1.0, -1.0], &[2]);
    let mut opt = Adam::new(0.01);
    opt.step(&mut [&mut p], &[&Tensor::from_vec(vec![3.0, -0.001], &[2])]);
    assert!((p.data()[0] - 0.99).abs() < 1e-6);
    assert!((p.data()[1] + 0.99).abs() < 1e-5);
    // Second step with g2 = 1 on the first coordinate, by hand:
    // m = 0.9*0.3 + 0.1*1 = 0.37, v = 0.999*0.009 + 0.001*1 = 0.009991
    // m̂ = 0.37/0.19, v̂ = 0.009991/0.001999
    let mhat = 0.37f64 / 0.19;
    let vhat = 0.009991f64 / (1.0 - 0.999f64.powi(2));
    let expected = 0.99 - 0.01 * mhat / (vhat.sqrt() + 1e-8);
    opt.step(&mut [&mut p], &[&Tensor::from_vec(vec![1.0, 0.0], &[2])]);
    assert!((p.data()[0] as f64 - expected).abs() < 1e-6);
    assert_eq!(opt.steps(), 2);
}

#[test]
fn adam_minimises_a_quadratic() {
    let target = randn(&[5], 1);
    let mut p = Tensor::zeros(&[5]);
    let mut opt = Adam::new(0.05);
    for _ in 0..2000 {
        let y = mse(&p, &target);
        let (g, _) = mse_pullback(&p, &target, &y, &Tensor::scalar(1.0));
        opt.step(&mut [&mut p], &[&g]);
    }
    assert!(p.allclose(&target, 1e-3, 1e-3), "{p} vs {target}");
}

#[test]
#[should_panic(expected = "Sgd::step: parameter 0 has shape [2] but its gradient has shape [3]")]
fn optimizer_shape_mismatch() {
    let mut p = Tensor::zeros(&[2]);
    Sgd::new(0.1).step(&mut [&mut p], &[&Tensor::zeros(&[3])]);
}

#[test]
fn schedules() {
    let s = StepLr {
        base_lr: 0.1,
        step_size: 10,
        gamma: 0.5,
    };
    assert_eq!(s.lr(0), 0.1);
    assert_eq!(s.lr(9), 0.1);
    assert_eq!(s.lr(10), 0.05);
    assert_eq!(s.lr(25), 0.025);
    let c = CosineLr {
        base_lr: 1.0,
        min_lr: 0.0,
        total_steps: 100,
    };
    assert_eq!(c.lr(0), 1.0);
    assert!((c.lr(50) - 0.5).abs() < 1e-6);
    assert_eq!(c.lr(100), 0.0);
    assert_eq!(c.lr(1000), 0.0);
    assert!(c.lr(25) > c.lr(26));
}
