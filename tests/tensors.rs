//! Tensor functions through `#[grad]`: the lectures' networks, operators,
//! methods and runtime calls, checked against finite differences and the
//! hand-derived backprop formulas.

mod common;

use autodiff::grad;
use autodiff::runtime::tensor::{
    self, conv2d, max_pool2d, randn, softmax_cross_entropy, Conv2dParams, Pool2dParams, Tensor,
};
use common::check_tensor_fd;

/// Largest elementwise difference relative to the largest reference entry.
fn rel_diff(a: &Tensor, reference: &Tensor) -> f32 {
    let scale = reference.data().iter().fold(0f32, |m, v| m.max(v.abs()));
    a.max_abs_diff(reference) / scale.max(f32::MIN_POSITIVE)
}

/// The lecture's two-layer network: sigmoid hidden layer, squared loss.
#[grad(wrt(w1, w2))]
fn two_layer(x: &Tensor, y: &Tensor, w1: &Tensor, w2: &Tensor) -> f32 {
    let h = tensor::sigmoid(&x.matmul(w1));
    let y_pred = h.matmul(w2);
    (&y_pred - y).sqr().sum().item()
}

#[test]
fn two_layer_matches_the_lecture_formulas() {
    let x = randn(&[16, 20], 1);
    let y = randn(&[16, 3], 2);
    let w1 = randn(&[20, 8], 3);
    let w2 = randn(&[8, 3], 4);
    let (loss, (gw1, gw2)) = two_layer_grad(&x, &y, &w1, &w2);
    assert_eq!(loss.to_bits(), two_layer(&x, &y, &w1, &w2).to_bits());

    // grad_y_pred = 2 (y_pred - y); grad_w2 = h.T · grad_y_pred;
    // grad_h = grad_y_pred · w2.T; grad_w1 = x.T · (grad_h * h * (1 - h)).
    let h = tensor::sigmoid(&x.matmul(&w1));
    let y_pred = h.matmul(&w2);
    let grad_y_pred = (&y_pred - &y) * 2.0;
    let grad_w2 = h.transpose().matmul(&grad_y_pred);
    let grad_h = grad_y_pred.matmul(&w2.transpose());
    let grad_w1 = x.transpose().matmul(&(&(&grad_h * &h) * &(1.0 - &h)));
    assert!(
        rel_diff(&gw2, &grad_w2) < 1e-5,
        "grad_w2: {}",
        rel_diff(&gw2, &grad_w2)
    );
    assert!(
        rel_diff(&gw1, &grad_w1) < 1e-5,
        "grad_w1: {}",
        rel_diff(&gw1, &grad_w1)
    );

    check_tensor_fd(
        "two_layer",
        |p| two_layer(&x, &y, &p[0], &p[1]),
        &[w1.clone(), w2.clone()],
        &[gw1, gw2],
    );
}

/// A softmax classifier with an L2 penalty whose strength is itself
/// differentiated: scalars and tensors mixed, labels as a constant slice.
#[grad]
fn softmax_l2(w: &Tensor, b: &Tensor, lambda: f32, x: &Tensor, labels: &[usize]) -> f32 {
    let scores = x.matmul(w) + b;
    let data_loss = softmax_cross_entropy(&scores, labels);
    let reg = lambda * (w.sqr().sum() + b.sqr().sum());
    (data_loss + reg).item()
}

#[test]
fn scalars_and_tensors_mix() {
    let x = randn(&[10, 6], 11);
    let w = randn(&[6, 4], 12);
    let b = randn(&[4], 13);
    let labels = [0, 1, 2, 3, 0, 1, 2, 3, 3, 2];
    let lambda = 0.3f32;
    let (v, (gw, gb, glambda, gx)) = softmax_l2_grad(&w, &b, lambda, &x, &labels);
    assert_eq!(
        v.to_bits(),
        softmax_l2(&w, &b, lambda, &x, &labels).to_bits()
    );
    // d/dlambda = ||w||² + ||b||².
    let expected = w.sqr().sum().item() + b.sqr().sum().item();
    assert!(
        (glambda - expected).abs() <= 1e-5 * expected,
        "{glambda} vs {expected}"
    );
    check_tensor_fd(
        "softmax_l2",
        |p| softmax_l2(&p[0], &p[1], p[2].item(), &p[3], &labels),
        &[w.clone(), b.clone(), Tensor::scalar(lambda), x.clone()],
        &[gw, gb, Tensor::scalar(glambda), gx],
    );
}

/// `[CONV-RELU-POOL]x2 - FC - softmax` on 8x8 images.
#[grad(wrt(w1, b1, w2, b2, w3, b3))]
#[allow(clippy::too_many_arguments)]
fn cnn(
    w1: &Tensor,
    b1: &Tensor,
    w2: &Tensor,
    b2: &Tensor,
    w3: &Tensor,
    b3: &Tensor,
    x: &Tensor,
    labels: &[usize],
) -> f32 {
    let same = Conv2dParams::square(1, 1, 1, 1);
    let pool = Pool2dParams::square(2, 2, 0);
    let h1 = max_pool2d(&conv2d(x, w1, Some(b1), same).relu(), pool);
    let h2 = max_pool2d(&tensor::relu(&conv2d(&h1, w2, Some(b2), same)), pool);
    let scores = h2.flatten().matmul(w3) + b3;
    softmax_cross_entropy(&scores, labels).item()
}

#[test]
fn cnn_gradients() {
    let x = randn(&[4, 1, 8, 8], 21);
    let labels = [3, 1, 4, 1];
    let p = [
        randn(&[3, 1, 3, 3], 22) * 0.5,
        randn(&[3], 23) * 0.1,
        randn(&[4, 3, 3, 3], 24) * 0.3,
        randn(&[4], 25) * 0.1,
        randn(&[16, 5], 26) * 0.3,
        randn(&[5], 27) * 0.1,
    ];
    let (v, g) = cnn_grad(&p[0], &p[1], &p[2], &p[3], &p[4], &p[5], &x, &labels);
    assert_eq!(
        v.to_bits(),
        cnn(&p[0], &p[1], &p[2], &p[3], &p[4], &p[5], &x, &labels).to_bits()
    );
    // The backward pass written by hand with the runtime's pullbacks.
    let same = Conv2dParams::square(1, 1, 1, 1);
    let pool = Pool2dParams::square(2, 2, 0);
    let c1 = conv2d(&x, &p[0], Some(&p[1]), same);
    let r1 = c1.relu();
    let h1 = max_pool2d(&r1, pool);
    let c2 = conv2d(&h1, &p[2], Some(&p[3]), same);
    let r2 = c2.relu();
    let h2 = max_pool2d(&r2, pool);
    let f = h2.flatten();
    let s0 = f.matmul(&p[4]);
    let s = &s0 + &p[5];
    let l = softmax_cross_entropy(&s, &labels);
    let gs = tensor::softmax_cross_entropy_pullback(&s, &labels, &l, &Tensor::scalar(1.0));
    let gb3 = tensor::sum_to_shape(&gs, &[5]);
    let (gf, gw3) = tensor::matmul_pullback(&f, &p[4], &s0, &gs);
    let gh2 = tensor::flatten_pullback(&h2, &f, &gf);
    let gr2 = tensor::max_pool2d_pullback(&r2, pool, &h2, &gh2);
    let gc2 = tensor::relu_pullback(&c2, &r2, &gr2);
    let (gh1, gw2, gb2) = tensor::conv2d_pullback(&h1, &p[2], Some(&p[3]), same, &c2, &gc2);
    let gr1 = tensor::max_pool2d_pullback(&r1, pool, &h1, &gh1);
    let gc1 = tensor::relu_pullback(&c1, &r1, &gr1);
    let (_, gw1, gb1) = tensor::conv2d_pullback(&x, &p[0], Some(&p[1]), same, &c1, &gc1);
    let hand = [gw1, gb1.unwrap(), gw2, gb2.unwrap(), gw3, gb3];
    let ours = [g.0, g.1, g.2, g.3, g.4, g.5];
    for (i, (a, b)) in ours.iter().zip(&hand).enumerate() {
        assert!(rel_diff(a, b) < 1e-5, "parameter {i}: {}", rel_diff(a, b));
    }
}

/// The pullbacks of ReLU and max-pooling are wired right: checked away from
/// their kinks (inputs spread out, so no window ties and no unit sits near 0).
#[grad]
fn relu_pool(x: &Tensor) -> f32 {
    let y = max_pool2d(&x.relu(), Pool2dParams::square(2, 2, 0));
    (&y * &y).sum().item()
}

#[test]
fn relu_and_pool_gradients() {
    let n = 2 * 3 * 6 * 6;
    // Distinct values at least 0.01 apart, about half of them negative.
    let mut vals: Vec<f32> = (0..n)
        .map(|i| (i as f32 - n as f32 / 2.0 + 0.5) * 0.01)
        .collect();
    let mut rng = tensor::Rng::new(61);
    for i in (1..n).rev() {
        vals.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    let x = Tensor::from_vec(vals, &[2, 3, 6, 6]);
    let (v, gx) = relu_pool_grad(&x);
    assert_eq!(v.to_bits(), relu_pool(&x).to_bits());
    check_tensor_fd(
        "relu_pool",
        |p| relu_pool(&p[0]),
        std::slice::from_ref(&x),
        &[gx],
    );
}

/// Without a bias, and with the input differentiated too.
#[grad]
fn conv_no_bias(x: &Tensor, w: &Tensor) -> f32 {
    let y = conv2d(x, w, None, Conv2dParams::square(2, 1, 1, 1));
    tensor::avg_pool2d(&y, Pool2dParams::square(2, 1, 0))
        .tanh()
        .sum()
        .item()
}

#[test]
fn conv_without_bias() {
    let x = randn(&[2, 2, 7, 7], 31);
    let w = randn(&[3, 2, 3, 3], 32) * 0.3;
    let (v, (gx, gw)) = conv_no_bias_grad(&x, &w);
    assert_eq!(v.to_bits(), conv_no_bias(&x, &w).to_bits());
    check_tensor_fd(
        "conv_no_bias",
        |p| conv_no_bias(&p[0], &p[1]),
        &[x.clone(), w.clone()],
        &[gx, gw],
    );
}

/// The copy gate: a tensor read several times gets the sum of its uses.
#[grad]
fn reuse(a: &Tensor, b: &Tensor) -> f32 {
    let c = a * a;
    let d = &c + a;
    let e = d.matmul(&b.transpose()) - &c.matmul(&b.transpose());
    (e.exp().mean() + a.sum()).item()
}

#[test]
fn uses_are_summed() {
    let a = randn(&[3, 4], 41) * 0.5;
    let b = randn(&[2, 4], 42) * 0.5;
    let (v, (ga, gb)) = reuse_grad(&a, &b);
    assert_eq!(v.to_bits(), reuse(&a, &b).to_bits());
    check_tensor_fd(
        "reuse",
        |p| reuse(&p[0], &p[1]),
        &[a.clone(), b.clone()],
        &[ga, gb],
    );
}

/// Owned parameters and operators on owned values (which move them).
#[grad]
fn owned(a: Tensor, b: Tensor, s: f32) -> f32 {
    let c = a.clone() * s;
    let d = c - b.clone() / 2.0;
    let e = 1.0 - d;
    let f = -(e / (b.sqr() + 1.0));
    (f.sum() * s).item()
}

#[test]
fn owned_parameters_and_operators() {
    let a = randn(&[5], 51);
    let b = randn(&[5], 52);
    let s = 0.7f32;
    let (v, (ga, gb, gs)) = owned_grad(a.clone(), b.clone(), s);
    assert_eq!(v.to_bits(), owned(a.clone(), b.clone(), s).to_bits());
    check_tensor_fd(
        "owned",
        |p| owned(p[0].clone(), p[1].clone(), p[2].item()),
        &[a, b, Tensor::scalar(s)],
        &[ga, gb, Tensor::scalar(gs)],
    );
}

/// A loop over layers sharing one weight: the activations are overwritten
/// each iteration, so the backward pass pops them back.
#[grad(wrt(w, b))]
fn shared_layers(x: &Tensor, w: &Tensor, b: &Tensor, layers: usize) -> f32 {
    let mut h = x.clone();
    for _ in 0..layers {
        h = (h.matmul(w) + b).tanh();
    }
    h.sum().item()
}

#[test]
fn loop_over_layers() {
    let x = randn(&[3, 4], 71);
    let w = randn(&[4, 4], 72) * 0.5;
    let b = randn(&[4], 73) * 0.1;
    for layers in [0, 1, 3] {
        let (v, (gw, gb)) = shared_layers_grad(&x, &w, &b, layers);
        assert_eq!(v.to_bits(), shared_layers(&x, &w, &b, layers).to_bits());
        check_tensor_fd(
            "shared_layers",
            |p| shared_layers(&x, &p[0], &p[1], layers),
            &[w.clone(), b.clone()],
            &[gw, gb],
        );
    }
}

/// Branches choose tensor operations; the result is shadowed.
#[grad]
fn branchy(a: &Tensor, s: f32) -> f32 {
    let h = if s > 0.0 { a.sigmoid() * s } else { a.exp() };
    let h = if h.sum().item() > 1.0 { h.sqr() } else { h };
    let h = h.mean();
    h.item()
}

#[test]
fn branches_choose_tensor_operations() {
    let a = randn(&[2, 3], 81);
    for s in [-0.5f32, 0.5, 2.0] {
        let (v, (ga, gs)) = branchy_grad(&a, s);
        assert_eq!(v.to_bits(), branchy(&a, s).to_bits());
        check_tensor_fd(
            "branchy",
            |p| branchy(&p[0], p[1].item()),
            &[a.clone(), Tensor::scalar(s)],
            &[ga, Tensor::scalar(gs)],
        );
    }
}

/// An L2 penalty in a `#[grad]` function of its own.
#[grad]
fn penalty(w: &Tensor) -> f32 {
    w.sqr().sum().item()
}

/// Calls `penalty` through its generated `penalty_vjp`.
#[grad(wrt(w, lambda))]
fn regularised(x: &Tensor, w: &Tensor, lambda: f32) -> f32 {
    let data = x.matmul(w).tanh().mean().item();
    data + lambda * penalty(w)
}

#[test]
fn calls_tensor_functions() {
    let x = randn(&[4, 3], 91);
    let w = randn(&[3, 2], 92);
    let (v, (gw, gl)) = regularised_grad(&x, &w, 0.25);
    assert_eq!(v.to_bits(), regularised(&x, &w, 0.25).to_bits());
    check_tensor_fd(
        "regularised",
        |p| regularised(&x, &p[0], p[1].item()),
        &[w.clone(), Tensor::scalar(0.25)],
        &[gw, Tensor::scalar(gl)],
    );
}

/// The generated code of the key tensor examples, reviewed on change
/// (`UPDATE_SNAPSHOTS=1 cargo test --test tensors` rewrites them).
#[test]
fn generated_code_snapshots() {
    common::snapshot("tensor_two_layer", TWO_LAYER_GRAD_SOURCE);
    common::snapshot("tensor_flat_two_layer", FLAT_TWO_LAYER_GRAD_SOURCE);
    common::snapshot("tensor_cnn", CNN_GRAD_SOURCE);
    common::snapshot("tensor_shared_layers", SHARED_LAYERS_GRAD_SOURCE);
}

/// A constant collection of layers (left out of `wrt`) is iterated like
/// any constant; the gradient flows to the input.
#[grad(wrt(x))]
fn through_fixed_layers(x: &Tensor, layers: &[Tensor]) -> f32 {
    let mut h = x.clone();
    for w in layers {
        h = h.matmul(w).tanh();
    }
    h.sum().item()
}

#[test]
fn constant_layers() {
    let x = randn(&[2, 3], 101);
    let layers = [randn(&[3, 3], 102), randn(&[3, 3], 103)];
    let (v, gx) = through_fixed_layers_grad(&x, &layers);
    assert_eq!(v.to_bits(), through_fixed_layers(&x, &layers).to_bits());
    check_tensor_fd(
        "through_fixed_layers",
        |p| through_fixed_layers(&p[0], &layers),
        std::slice::from_ref(&x),
        &[gx],
    );
}

/// The lecture's "flat backprop" two-layer net (assignment 1): ReLU hidden
/// layer with biases, softmax loss.
#[grad(wrt(w1, b1, w2, b2))]
fn flat_two_layer(
    w1: &Tensor,
    b1: &Tensor,
    w2: &Tensor,
    b2: &Tensor,
    x: &Tensor,
    labels: &[usize],
) -> f32 {
    let h1 = (x.matmul(w1) + b1).relu();
    let scores = h1.matmul(w2) + b2;
    softmax_cross_entropy(&scores, labels).item()
}

#[test]
#[allow(clippy::needless_range_loop)] // the slide's index notation
fn flat_two_layer_matches_the_hand_derived_backprop() {
    let (n, d, h, c) = (6, 5, 4, 3);
    let x = randn(&[n, d], 111);
    let w1 = randn(&[d, h], 112);
    let b1 = randn(&[h], 113) * 0.1;
    let w2 = randn(&[h, c], 114);
    let b2 = randn(&[c], 115) * 0.1;
    let labels = [0, 2, 1, 1, 0, 2];
    let (loss, (dw1, db1, dw2, db2)) = flat_two_layer_grad(&w1, &b1, &w2, &b2, &x, &labels);

    // The backward pass of the slide, written with plain loops over f64.
    let at = |t: &Tensor, i: usize, j: usize| t.at(&[i, j]) as f64;
    let mut h1 = vec![vec![0f64; h]; n];
    for i in 0..n {
        for k in 0..h {
            let z: f64 =
                (0..d).map(|j| at(&x, i, j) * at(&w1, j, k)).sum::<f64>() + b1.at(&[k]) as f64;
            h1[i][k] = z.max(0.0);
        }
    }
    let mut dscores = vec![vec![0f64; c]; n];
    let mut expected_loss = 0.0;
    for i in 0..n {
        let s: Vec<f64> = (0..c)
            .map(|m| (0..h).map(|k| h1[i][k] * at(&w2, k, m)).sum::<f64>() + b2.at(&[m]) as f64)
            .collect();
        let mx = s.iter().cloned().fold(f64::MIN, f64::max);
        let z: f64 = s.iter().map(|v| (v - mx).exp()).sum();
        expected_loss += -(s[labels[i]] - mx - z.ln()) / n as f64;
        for m in 0..c {
            let p = (s[m] - mx).exp() / z;
            dscores[i][m] = (p - if m == labels[i] { 1.0 } else { 0.0 }) / n as f64;
        }
    }
    assert!((loss as f64 - expected_loss).abs() < 1e-5 * expected_loss.abs().max(1.0));
    let close = |name: &str, got: &Tensor, want: &dyn Fn(&[usize]) -> f64| {
        let shape = got.shape().to_vec();
        let idx: Vec<Vec<usize>> = match shape.len() {
            1 => (0..shape[0]).map(|i| vec![i]).collect(),
            _ => (0..shape[0])
                .flat_map(|i| (0..shape[1]).map(move |j| vec![i, j]))
                .collect(),
        };
        let scale = idx.iter().map(|ix| want(ix).abs()).fold(1e-3, f64::max);
        for ix in idx {
            let (g, w) = (got.at(&ix) as f64, want(&ix));
            assert!((g - w).abs() <= 1e-5 * scale, "{name}{ix:?}: {g} vs {w}");
        }
    };
    // dW2 = h1ᵀ·dscores, db2 = Σ_rows dscores
    close("dW2", &dw2, &|ix| {
        (0..n).map(|i| h1[i][ix[0]] * dscores[i][ix[1]]).sum()
    });
    close("db2", &db2, &|ix| (0..n).map(|i| dscores[i][ix[0]]).sum());
    // dh1 = dscores·W2ᵀ, zeroed where the ReLU was off
    let dh1 = |i: usize, k: usize| {
        let v: f64 = (0..c).map(|m| dscores[i][m] * at(&w2, k, m)).sum();
        if h1[i][k] > 0.0 {
            v
        } else {
            0.0
        }
    };
    // dW1 = Xᵀ·dh1, db1 = Σ_rows dh1
    close("dW1", &dw1, &|ix| {
        (0..n).map(|i| at(&x, i, ix[0]) * dh1(i, ix[1])).sum()
    });
    close("db1", &db1, &|ix| (0..n).map(|i| dh1(i, ix[0])).sum());
}

/// Tensors through `match`, an early `return` inside a loop, and `while`.
#[grad]
fn tensor_control(x: &Tensor, w: Tensor, n: usize, s: f32) -> f32 {
    let mut h = x.clone();
    for i in 0..n {
        h = match i {
            0 => h.matmul(&w).relu(),
            _ => (&h * s).tanh(),
        };
        if h.sum().item() > 10.0 {
            return h.mean().item();
        }
    }
    while h.numel() > 1 {
        h = h.sum();
    }
    -(h * s - 1.0).item()
}

#[test]
fn tensors_through_match_return_and_while() {
    let x = randn(&[3, 4], 121) * 0.5;
    let w = randn(&[4, 4], 122) * 0.5;
    for (n, s) in [(0, 0.5f32), (1, 0.5), (3, 0.9), (4, 3.0)] {
        let (v, (gx, gw, gs)) = tensor_control_grad(&x, w.clone(), n, s);
        assert_eq!(v.to_bits(), tensor_control(&x, w.clone(), n, s).to_bits());
        check_tensor_fd(
            "tensor_control",
            |p| tensor_control(&p[0], p[1].clone(), n, p[2].item()),
            &[x.clone(), w.clone(), Tensor::scalar(s)],
            &[gx, gw, Tensor::scalar(gs)],
        );
    }
}
