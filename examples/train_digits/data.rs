//! The UCI handwritten digits (8x8, 1797 images), embedded in the binary and
//! split once into a fixed train and test set.

use std::io::Read;

use autodiff::runtime::tensor::{Rng, Tensor};
use flate2::read::GzDecoder;

/// Embedded rather than read from disk, so the example runs from any working
/// directory. See `DATA.md` for the source and licence.
const DIGITS_CSV_GZ: &[u8] = include_bytes!("digits.csv.gz");

/// Pixels per image (8x8).
pub const PIXELS: usize = 64;
/// Images held out for testing; the other 1500 are for training.
pub const TEST_SIZE: usize = 297;
/// Seed of the shuffle that makes the split. Kept apart from the training seed
/// so that runs with different training seeds are scored on the same test set.
const SPLIT_SEED: u64 = 2024;

/// A set of images with their labels.
pub struct Dataset {
    /// Row-major pixels scaled to `[0, 1]`, `PIXELS` per image.
    pub pixels: Vec<f32>,
    /// Class of each image, `0..=9`.
    pub labels: Vec<usize>,
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// The images at `indices` as an NCHW batch `[n, 1, 8, 8]`, with their labels.
    pub fn batch(&self, indices: &[usize]) -> (Tensor, Vec<usize>) {
        let mut x = Vec::with_capacity(indices.len() * PIXELS);
        for &i in indices {
            x.extend_from_slice(&self.pixels[i * PIXELS..(i + 1) * PIXELS]);
        }
        let labels = indices.iter().map(|&i| self.labels[i]).collect();
        (Tensor::from_vec(x, &[indices.len(), 1, 8, 8]), labels)
    }

    /// Every image, in order, as one batch.
    pub fn all(&self) -> (Tensor, Vec<usize>) {
        self.batch(&(0..self.len()).collect::<Vec<_>>())
    }
}

/// Decodes the embedded CSV (64 pixel values `0..=16`, then the label, per row).
///
/// # Panics
/// If the embedded file is corrupt: it is part of the source tree, so that is a
/// build problem, not a run-time condition to recover from.
pub fn load() -> Dataset {
    let mut csv = String::new();
    GzDecoder::new(DIGITS_CSV_GZ)
        .read_to_string(&mut csv)
        .expect("digits.csv.gz: not valid gzip/UTF-8");
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (line_no, line) in csv.lines().enumerate() {
        let values: Vec<u8> = line
            .split(',')
            .map(|v| v.trim().parse().expect("digits.csv.gz: not an integer"))
            .collect();
        assert!(
            values.len() == PIXELS + 1,
            "digits.csv.gz: line {} has {} values, expected {}",
            line_no + 1,
            values.len(),
            PIXELS + 1
        );
        pixels.extend(values[..PIXELS].iter().map(|&v| f32::from(v) / 16.0));
        labels.push(usize::from(values[PIXELS]));
    }
    Dataset { pixels, labels }
}

/// Fisher–Yates shuffle driven by the runtime's seeded generator, so the order
/// is the same on every machine.
pub fn shuffle(indices: &mut [usize], rng: &mut Rng) {
    for i in (1..indices.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        indices.swap(i, j);
    }
}

/// The fixed split: shuffle all rows with `SPLIT_SEED`, keep the last
/// `TEST_SIZE` as the test set and the rest for training. Shuffling first keeps
/// the test set from depending on how the file happens to be ordered.
pub fn split(all: &Dataset) -> (Dataset, Dataset) {
    let mut order: Vec<usize> = (0..all.len()).collect();
    shuffle(&mut order, &mut Rng::new(SPLIT_SEED));
    let (train, test) = order.split_at(all.len() - TEST_SIZE);
    let subset = |idx: &[usize]| {
        let (x, labels) = all.batch(idx);
        Dataset {
            pixels: x.into_vec(),
            labels,
        }
    };
    (subset(train), subset(test))
}
