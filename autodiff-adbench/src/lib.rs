//! ADBench's GMM and bundle-adjustment objectives, differentiated with
//! `#[grad]`, with hand-written gradients and deterministic instances.
//! See `README.md` for the benchmarks.

pub mod ba;
pub mod gmm;
pub mod gmm_helpers;
pub mod hand;
pub mod instances;
pub mod support;
