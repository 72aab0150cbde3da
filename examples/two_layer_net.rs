//! The lecture's 20-line numpy network, with `#[grad]` writing the backward
//! pass: `cargo run --release --example two_layer_net`.
//!
//! ```text
//! N, D_in, H, D_out = 64, 1000, 100, 10
//! x, y = randn(N, D_in), randn(N, D_out)
//! w1, w2 = randn(D_in, H), randn(H, D_out)
//! for t in range(2000):
//!     h = 1 / (1 + np.exp(-x.dot(w1)))
//!     y_pred = h.dot(w2)
//!     loss = np.square(y_pred - y).sum()
//!     grad_y_pred = 2.0 * (y_pred - y)
//!     grad_w2 = h.T.dot(grad_y_pred)
//!     grad_h = grad_y_pred.dot(w2.T)
//!     grad_w1 = x.T.dot(grad_h * h * (1 - h))
//!     w1 -= 1e-4 * grad_w1
//!     w2 -= 1e-4 * grad_w2
//! ```
//!
//! Here only the forward pass is written; the five gradient lines are
//! generated (printed at the end), and the update is the runtime's SGD.

use autodiff::grad;
use autodiff::runtime::tensor::optim::{Optimizer, Sgd};
use autodiff::runtime::tensor::{randn, sigmoid, Tensor};

/// The loss of the lecture's network; `x` and `y` are data, not differentiated.
#[grad(wrt(w1, w2))]
fn loss(x: &Tensor, y: &Tensor, w1: &Tensor, w2: &Tensor) -> f32 {
    let h = sigmoid(&x.matmul(w1));
    let y_pred = h.matmul(w2);
    (&y_pred - y).sqr().sum().item()
}

fn main() {
    let (n, d_in, h, d_out) = (64, 1000, 100, 10);
    let x = randn(&[n, d_in], 0);
    let y = randn(&[n, d_out], 1);
    let mut w1 = randn(&[d_in, h], 2);
    let mut w2 = randn(&[h, d_out], 3);
    let mut sgd = Sgd::new(1e-4);
    let start = std::time::Instant::now();
    for t in 0..2000 {
        let (l, (grad_w1, grad_w2)) = loss_grad(&x, &y, &w1, &w2);
        if t % 200 == 0 || t == 1999 {
            println!("step {t:4}  loss {l:.4}");
        }
        sgd.step(&mut [&mut w1, &mut w2], &[&grad_w1, &grad_w2]);
    }
    let elapsed = start.elapsed();
    println!(
        "2000 steps in {:.2} s ({:.0} µs/step)",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / 2000.0
    );
    println!("\nThe backward pass #[grad] generated:\n\n{LOSS_GRAD_SOURCE}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use autodiff::runtime::tensor::Tensor;

    fn rel_diff(a: &Tensor, reference: &Tensor) -> f32 {
        let scale = reference.data().iter().fold(0f32, |m, v| m.max(v.abs()));
        a.max_abs_diff(reference) / scale
    }

    /// The generated gradients equal the lecture's hand-derived lines (to
    /// 1e-5 relative: the same products, rounded in another order) and
    /// agree with central differences along random directions.
    #[test]
    fn gradients_match_the_lecture_and_finite_differences() {
        let x = randn(&[64, 1000], 0);
        let y = randn(&[64, 10], 1);
        let w1 = randn(&[1000, 100], 2) * 0.05;
        let w2 = randn(&[100, 10], 3) * 0.1;
        let (l, (gw1, gw2)) = loss_grad(&x, &y, &w1, &w2);
        assert_eq!(l.to_bits(), loss(&x, &y, &w1, &w2).to_bits());

        let h = sigmoid(&x.matmul(&w1));
        let y_pred = h.matmul(&w2);
        let grad_y_pred = (&y_pred - &y) * 2.0;
        let grad_w2 = h.transpose().matmul(&grad_y_pred);
        let grad_h = grad_y_pred.matmul(&w2.transpose());
        let grad_w1 = x.transpose().matmul(&(&(&grad_h * &h) * &(1.0 - &h)));
        assert!(
            rel_diff(&gw1, &grad_w1) < 1e-5,
            "{}",
            rel_diff(&gw1, &grad_w1)
        );
        assert!(
            rel_diff(&gw2, &grad_w2) < 1e-5,
            "{}",
            rel_diff(&gw2, &grad_w2)
        );

        // Central differences in f64 of the f32 loss, step 1e-3 along unit
        // directions; tolerance 1e-2 relative (f32 rounding of a loss of
        // ~700 over a step of 1e-3 is ~4e-2 absolute).
        for k in 0..3u64 {
            let d1 = randn(&[1000, 100], 10 + k);
            let d2 = randn(&[100, 10], 20 + k);
            let norm = (d1.sqr().sum().item() + d2.sqr().sum().item()).sqrt();
            let (d1, d2) = (&d1 / norm, &d2 / norm);
            let h = 1e-3f32;
            let f =
                |s: f32| loss(&x, &y, &(&w1 + &(&d1 * (s * h))), &(&w2 + &(&d2 * (s * h)))) as f64;
            let fd = (f(1.0) - f(-1.0)) / (2.0 * h as f64);
            let ad = (&gw1 * &d1).sum().item() as f64 + (&gw2 * &d2).sum().item() as f64;
            assert!(
                (ad - fd).abs() <= 1e-2 * ad.abs().max(fd.abs()) + 0.1,
                "{ad} vs {fd}"
            );
        }
    }
}
