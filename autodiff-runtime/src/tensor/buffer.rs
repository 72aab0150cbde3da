//! Output buffers that are initialised by the worker thread that fills them.
//!
//! `vec![0.0; n]` zeroes the whole buffer on the calling thread; when two workers
//! then write their halves, every cache line the other core zeroed has to move
//! across, and on small kernels (LeNet's first conv layer) that costs more than the
//! parallelism gains. Here each worker zeroes each image's part of the buffer just
//! before filling it, so the memory is already in that worker's cache.

use std::mem::MaybeUninit;

use rayon::prelude::*;

/// Initialises `s` as consecutive planes of `plane_len` elements, plane `p`
/// filled with `planes[p]` (0 when `planes` is `None`), and returns it as
/// initialised `f32`s.
fn init<'a>(
    s: &'a mut [MaybeUninit<f32>],
    planes: Option<&[f32]>,
    plane_len: usize,
) -> &'a mut [f32] {
    match planes {
        Some(values) if plane_len > 0 && !values.is_empty() => {
            for (plane, &value) in s.chunks_mut(plane_len).zip(values.iter().cycle()) {
                for v in plane.iter_mut() {
                    v.write(value);
                }
            }
        }
        _ => {
            for v in s.iter_mut() {
                v.write(0.0);
            }
        }
    }
    // SAFETY: every element was written just above (in the first arm `chunks_mut`
    // covers the whole slice and `cycle` over a non-empty `values` never runs out;
    // the second arm writes each element), and `MaybeUninit<f32>` is
    // guaranteed to have the same size, alignment and layout as `f32`.
    unsafe { &mut *(s as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

/// Builds a buffer of `n_images * image_len` elements. The images are split into
/// `slices` contiguous groups (processed in parallel when there is more than one);
/// each group starts from `new_state()` and calls `f(&mut state, image_index,
/// image)` on each of its images in order. Before that call the image is
/// initialised to zeros, or, with `planes = Some((values, plane_len))`, as planes
/// of `plane_len` elements set to `values[p]` (a conv bias). Returns the buffer and
/// every group's final state, in image order.
pub(crate) fn fill_images<S: Send>(
    n_images: usize,
    image_len: usize,
    slices: usize,
    planes: Option<(&[f32], usize)>,
    new_state: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, usize, &mut [f32]) + Sync,
) -> (Vec<f32>, Vec<S>) {
    let len = n_images * image_len;
    let mut buf: Vec<f32> = Vec::with_capacity(len);
    if len == 0 {
        let states = (0..slices.min(n_images).max(1))
            .map(|_| new_state())
            .collect();
        return (buf, states);
    }
    let (values, plane_len) = match planes {
        Some((v, l)) => (Some(v), l),
        None => (None, 0),
    };
    let per = n_images.div_ceil(slices.max(1));
    let group = |(gi, part): (usize, &mut [MaybeUninit<f32>])| {
        let mut state = new_state();
        for (j, img) in part.chunks_mut(image_len).enumerate() {
            f(&mut state, gi * per + j, init(img, values, plane_len));
        }
        state
    };
    let spare = &mut buf.spare_capacity_mut()[..len];
    let states: Vec<S> = if slices > 1 {
        spare
            .par_chunks_mut(per * image_len)
            .enumerate()
            .map(group)
            .collect()
    } else {
        vec![group((0, spare))]
    };
    // SAFETY: the groups' chunks partition `spare[..len]` and each group visits
    // every `image_len` chunk of its part, initialising it with `init` before
    // handing it on, so all `len` elements are initialised. Had `f` panicked we
    // would not get here and `buf` would be dropped with length 0.
    unsafe { buf.set_len(len) };
    (buf, states)
}

/// Elementwise results below this many elements are computed on one thread:
/// waking a second worker costs more than it saves.
const PAR_ELEMENTS: usize = 1 << 16;

/// `f` applied to `(a[i], b[i])` for every `i`, into a new buffer; `b` is
/// ignored (pass `a` again) by the one-input form. Large inputs are split into
/// one contiguous part per thread, the same split conv and pooling use for
/// their batch: in a training step the input of an elementwise op was mostly
/// just written by those kernels, and a single thread reading it all pulled
/// the other core's half across (LeNet's relu between conv and pool).
fn map2_into(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    assert_eq!(a.len(), b.len(), "map2: operands of different lengths");
    let len = a.len();
    let threads = super::threads::num_threads();
    if threads <= 1 || len < PAR_ELEMENTS {
        return a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect();
    }
    let mut buf: Vec<f32> = Vec::with_capacity(len);
    let part = len.div_ceil(threads);
    super::threads::parallel(|_| {
        buf.spare_capacity_mut()[..len]
            .par_chunks_mut(part)
            .zip(a.par_chunks(part).zip(b.par_chunks(part)))
            .for_each(|(out, (xa, xb))| {
                for (o, (&x, &y)) in out.iter_mut().zip(xa.iter().zip(xb)) {
                    o.write(f(x, y));
                }
            });
    });
    // SAFETY: the output chunks partition `spare[..len]` and are paired with
    // input chunks of the same lengths (all three slices have length `len` and
    // are cut at the same `part`), and each loop writes every element of its
    // output chunk. A panic in `f` propagates before this line, dropping `buf`
    // with length 0.
    unsafe { buf.set_len(len) };
    buf
}

/// `f(x)` for every element of `a`, in parallel for large inputs (see
/// [`map2_into`]).
pub(crate) fn map_par(a: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    map2_into(a, a, |x, _| f(x))
}

/// `f(a[i], b[i])` for equally long `a` and `b`, in parallel for large inputs
/// (see [`map2_into`]).
///
/// # Panics
/// If the lengths differ.
pub(crate) fn zip_par(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    map2_into(a, b, f)
}
