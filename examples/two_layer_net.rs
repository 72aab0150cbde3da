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
