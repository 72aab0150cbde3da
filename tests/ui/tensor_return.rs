use autodiff::grad;
use autodiff::runtime::tensor::Tensor;

#[grad]
fn loss(w: &Tensor, x: &Tensor) -> Tensor {
    x.matmul(w).sum()
}

fn main() {}
