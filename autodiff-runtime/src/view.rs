//! Sub-slice bindings: `let r = &x[a..b];` in a `#[grad]` function.
//!
//! The generated code does not keep `r` as a Rust slice: every read `r[i]`
//! becomes `x[a + i]`, so its adjoint lands in `x`'s adjoint directly, with
//! no buffer for `r`'s and no copy back. What the slice did for free must
//! then be done here: taking `x[a..b]` checks the bounds once ([`view_len`]
//! and its siblings slice the vector itself, so they fail exactly when, and
//! with the message, the user's `&x[a..b]` would), and each `r[i]` checks
//! `i` against the slice's length, not `x`'s ([`view_index`]), so an index
//! past the end of `r` panics instead of reading the element after it.

use crate::window::{fits, out_of_bounds};

/// The length of `v[start..end]`.
///
/// # Panics
/// As `&v[start..end]` does.
#[inline(always)]
#[track_caller]
pub fn view_len<T>(v: &[T], start: usize, end: usize) -> usize {
    v[start..end].len()
}

/// The length of `v[start..=end]`.
///
/// # Panics
/// As `&v[start..=end]` does.
#[inline(always)]
#[track_caller]
pub fn view_len_inclusive<T>(v: &[T], start: usize, end: usize) -> usize {
    v[start..=end].len()
}

/// The length of `v[start..]`.
///
/// # Panics
/// As `&v[start..]` does.
#[inline(always)]
#[track_caller]
pub fn view_len_from<T>(v: &[T], start: usize) -> usize {
    v[start..].len()
}

/// Where `r[i]` lies in the vector `r` views: `start + i`, for a view of
/// `len` elements starting at `start`.
///
/// # Panics
/// If `i >= len`, with the message `r[i]` gives.
#[inline(always)]
#[track_caller]
pub fn view_index(start: usize, i: usize, len: usize) -> usize {
    if i >= len {
        out_of_bounds(len, i);
    }
    start + i
}

/// The check [`view_index`] makes on every iteration of a loop over
/// `i = start .. start + n`, made once before it: fails when some `i` is
/// past the view's `len`, with the message the first such `i` gives (a
/// window's check, [`crate::window`], against the view's length).
///
/// # Panics
/// If `n > 0` and `start + n > len`.
#[inline(always)]
#[track_caller]
pub fn view_covers(start: usize, n: usize, len: usize) {
    fits(len, start, n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_the_slices() {
        let v = [0.0f64; 6];
        assert_eq!(view_len(&v, 1, 4), 3);
        assert_eq!(view_len(&v, 6, 6), 0);
        assert_eq!(view_len_inclusive(&v, 1, 4), 4);
        assert_eq!(view_len_from(&v, 2), 4);
        assert_eq!(view_len_from(&v, 6), 0);
    }

    #[test]
    fn indices_are_offset() {
        assert_eq!(view_index(3, 0, 2), 3);
        assert_eq!(view_index(3, 1, 2), 4);
    }

    fn message<R>(f: impl FnOnce() -> R + std::panic::UnwindSafe) -> String {
        let e = std::panic::catch_unwind(f).err().expect("must panic");
        let text = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        assert!(!text.is_empty(), "a panic without a message");
        text
    }

    #[test]
    fn bad_bounds_fail_as_slicing_does() {
        let v = [0.0f64; 5];
        // Opaque, so the slicing below is not rejected at compile time.
        let [one, two, three, five, seven] = std::hint::black_box([1usize, 2, 3, 5, 7]);
        assert_eq!(
            message(|| view_len(&v, three, two)),
            message(|| v[three..two].len())
        );
        assert_eq!(
            message(|| view_len(&v, one, seven)),
            message(|| v[one..seven].len())
        );
        assert_eq!(
            message(|| view_len_inclusive(&v, one, five)),
            message(|| v[one..=five].len())
        );
        assert_eq!(
            message(|| view_len_from(&v, seven)),
            message(|| v[seven..].len())
        );
    }

    #[test]
    fn a_loop_check_fails_as_its_first_bad_index() {
        view_covers(2, 3, 5);
        view_covers(9, 0, 5);
        assert_eq!(
            message(|| view_covers(3, 4, 5)),
            message(|| view_index(0, 5, 5))
        );
        assert_eq!(
            message(|| view_covers(7, 1, 5)),
            message(|| view_index(0, 7, 5))
        );
    }

    #[test]
    fn an_index_past_the_view_fails_as_indexing_it_does() {
        let v = [0.0f64; 5];
        let r = &v[1..3];
        let i = 2usize;
        assert_eq!(message(|| view_index(1, i, 2)), message(|| r[i]));
    }
}
