use autodiff::grad;
use autodiff::runtime::tensor::Tensor;

#[grad]
fn loss(x: &Tensor, layers: &[Tensor]) -> f32 {
    let mut h = x.clone();
    for w in layers {
        h = h.matmul(w).relu();
    }
    h.sum().item()
}

fn main() {}
