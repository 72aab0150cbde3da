//! Tapes whose memory outlives the call.
//!
//! The backward pass of a loop keeps what the loop overwrote on a tape, a
//! `Vec` that can grow to megabytes (a point loop of a mixture model tapes
//! `n · k · d` values). A fresh `Vec` per call is a fresh `mmap` once it is
//! large, so every call page-faults its tapes in and the allocator hands
//! them back at the end: on a 2-core machine that was a tenth of a GMM
//! gradient's time. A [`Tape`] takes its buffer from a per-thread pool and
//! gives it back, emptied, when dropped, so a function called in a loop
//! (an optimiser, a benchmark) reuses the memory its last call grew.
//!
//! The pool holds at most [`MAX_BUFFERS`] buffers and [`MAX_BYTES`] bytes per
//! thread; a buffer that does not fit is freed as usual.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

/// Buffers kept per thread.
pub const MAX_BUFFERS: usize = 32;
/// Bytes of buffer capacity kept per thread.
pub const MAX_BYTES: usize = 1 << 30;

struct Pool {
    /// Each buffer with its `Vec<T>`'s type, so that finding one is a
    /// comparison, not a virtual call per entry (a function that calls a
    /// differentiated function once per point takes and returns its tapes
    /// once per point).
    buffers: Vec<(TypeId, Box<dyn Any>)>,
    bytes: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const {
        RefCell::new(Pool { buffers: Vec::new(), bytes: 0 })
    };
}

/// A `Vec<T>` (it derefs to one) whose buffer comes from, and goes back to,
/// a per-thread pool.
pub struct Tape<T: 'static> {
    items: Vec<T>,
    /// The pool's box the buffer came in, kept to carry it back (a box per
    /// return would cost a small allocation per tape per call).
    #[allow(clippy::box_collection)] // the box is the pool's entry, reused
    parcel: Option<Box<Vec<T>>>,
}

impl<T: 'static> Tape<T> {
    /// An empty tape, on the most recently returned buffer of this element
    /// type. Tapes are declared in the same order on every call and dropped
    /// in reverse, so each tends to get back the buffer it grew.
    pub fn new() -> Self {
        let taken = POOL
            .try_with(|p| {
                let mut p = p.borrow_mut();
                let wanted = TypeId::of::<Vec<T>>();
                let at = p.buffers.iter().rposition(|(id, _)| *id == wanted)?;
                let (_, parcel) = p.buffers.remove(at);
                let mut parcel = parcel.downcast::<Vec<T>>().ok()?;
                let items = std::mem::take(&mut *parcel);
                p.bytes -= bytes_of(&items);
                Some((items, parcel))
            })
            .ok()
            .flatten();
        match taken {
            Some((items, parcel)) => Tape {
                items,
                parcel: Some(parcel),
            },
            None => Tape {
                items: Vec::new(),
                parcel: None,
            },
        }
    }
}

impl<T: 'static> Default for Tape<T> {
    fn default() -> Self {
        Self::new()
    }
}

fn bytes_of<T>(v: &Vec<T>) -> usize {
    v.capacity().saturating_mul(std::mem::size_of::<T>())
}

impl<T: 'static> Drop for Tape<T> {
    fn drop(&mut self) {
        let mut items = std::mem::take(&mut self.items);
        items.clear();
        let bytes = bytes_of(&items);
        if bytes == 0 {
            return;
        }
        // During thread teardown the pool may be gone: the buffer is freed.
        let _ = POOL.try_with(|p| {
            let mut p = p.borrow_mut();
            if p.buffers.len() < MAX_BUFFERS && p.bytes + bytes <= MAX_BYTES {
                p.bytes += bytes;
                let parcel = match self.parcel.take() {
                    Some(mut parcel) => {
                        *parcel = items;
                        parcel
                    }
                    None => Box::new(items),
                };
                p.buffers.push((TypeId::of::<Vec<T>>(), parcel));
            }
        });
    }
}

impl<T: 'static> Deref for Tape<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.items
    }
}

impl<T: 'static> DerefMut for Tape<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        &mut self.items
    }
}

/// Pushes `v` onto a tape whose capacity was reserved for it before the
/// loop that pushes.
///
/// `Vec::push` may reallocate, and a call inside a loop makes the compiler
/// keep the loop's floats in memory (every vector register is
/// caller-saved): a running sum in the same loop as a push then goes
/// through the stack on every iteration. Here the capacity check is an
/// assertion, whose failure path does not return, so nothing needs saving
/// around it and the push becomes a store. Generated code calls it only for
/// a tape that a loop pushes to at most a known number of times per
/// iteration and that nothing else in the loop touches, after reserving
/// that many slots per iteration.
///
/// # Panics
/// If the tape is full: a defect in the generated code, never a
/// reallocation.
#[inline(always)]
pub fn push_reserved<T>(tape: &mut Vec<T>, v: T) {
    assert!(
        tape.len() < tape.capacity(),
        "push_reserved: tape full (generated code reserved too little)"
    );
    tape.push(v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_tape_lends_its_buffer_to_the_next() {
        let cap = {
            let mut t: Tape<f64> = Tape::new();
            t.extend((0..10_000).map(|i| i as f64));
            t.capacity()
        };
        let t: Tape<f64> = Tape::new();
        assert!(t.is_empty(), "a reused buffer starts empty");
        assert_eq!(t.capacity(), cap);
        // Another element type does not get it.
        let u: Tape<f32> = Tape::new();
        assert_eq!(u.capacity(), 0);
    }

    #[test]
    fn each_tape_gets_back_its_own_buffer() {
        let sizes = |n: usize| {
            let mut a: Tape<f64> = Tape::new();
            let mut b: Tape<f64> = Tape::new();
            let caps = (a.capacity(), b.capacity());
            a.resize(n, 0.0);
            b.resize(10 * n, 0.0);
            caps
        };
        sizes(100);
        let (a, b) = sizes(100);
        assert!((100..1000).contains(&a), "small tape got {a}");
        assert!(b >= 1000, "large tape got {b}");
    }

    #[test]
    fn reserved_pushes_fill_the_reservation() {
        let mut t: Tape<f64> = Tape::new();
        t.reserve(3);
        for i in 0..3 {
            push_reserved(&mut t, i as f64);
        }
        assert_eq!(&t[..], &[0.0, 1.0, 2.0]);
        let mut v: Vec<usize> = Vec::with_capacity(1);
        push_reserved(&mut v, 7);
        let full = std::panic::catch_unwind(move || push_reserved(&mut v, 8));
        assert!(full.is_err(), "a push beyond the reservation panics");
    }

    #[test]
    fn the_pool_stays_bounded() {
        let tapes: Vec<Tape<u8>> = (0..MAX_BUFFERS + 8)
            .map(|_| {
                let mut t = Tape::new();
                t.push(1u8);
                t
            })
            .collect();
        drop(tapes);
        let kept = POOL.with(|p| p.borrow().buffers.len());
        assert!(kept <= MAX_BUFFERS);
    }
}
