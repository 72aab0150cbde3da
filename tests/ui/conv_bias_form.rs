use autodiff::grad;
use autodiff::runtime::tensor::{conv2d, Conv2dParams, Tensor};

#[grad(wrt(w))]
fn loss(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> f32 {
    conv2d(x, w, b, Conv2dParams::default()).sum().item()
}

fn main() {}
