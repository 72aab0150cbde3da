//! Conversions to and from `ndarray::ArrayD<f32>` (feature `ndarray`), for users
//! who load or inspect data with the ndarray ecosystem.

use ndarray::{ArrayD, IxDyn};

use super::Tensor;

/// Copies the array in row-major order (any memory layout is accepted).
///
/// # Panics
/// If the array has more than 4 dimensions.
impl From<ArrayD<f32>> for Tensor {
    fn from(a: ArrayD<f32>) -> Tensor {
        let shape = a.shape().to_vec();
        super::check_rank("Tensor::from(ArrayD)", &shape);
        let data = if a.is_standard_layout() {
            a.into_raw_vec_and_offset().0
        } else {
            a.iter().copied().collect()
        };
        Tensor::from_vec(data, &shape)
    }
}

/// Moves the buffer into a standard-layout array without copying.
impl From<Tensor> for ArrayD<f32> {
    fn from(t: Tensor) -> ArrayD<f32> {
        let shape = t.shape().to_vec();
        ArrayD::from_shape_vec(IxDyn(&shape), t.into_vec())
            .expect("a tensor's buffer always matches its shape")
    }
}

/// Copies the tensor into a standard-layout array.
impl From<&Tensor> for ArrayD<f32> {
    fn from(t: &Tensor) -> ArrayD<f32> {
        t.clone().into()
    }
}
