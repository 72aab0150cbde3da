//! Loop windows: the slice of a vector a loop walks, taken once before it.
//!
//! A loop `for j in a..b { .. y[j] .. }` checks `j` against `y.len()` on
//! every access: a compare and a branch per element, half the instructions
//! of a triangular loop's reverse, and the reason such a loop does not
//! vectorise. When every iteration reads or writes `y[j]`, the generated
//! code takes the window `y[a..b]` once and indexes it by the iteration
//! number instead, which the compiler can prove in bounds.
//!
//! The window must fail exactly when the loop would have: the loop visits
//! `start, start + 1, ..` and panics at the first index past the end, so
//! [`window`] panics with that index's message, and an empty loop takes no
//! window at all, wherever it starts.

/// `v[start..start + n]`, or an empty slice when `n` is 0.
///
/// # Panics
/// If `n > 0` and the window does not fit: with the message `v[i]` gives
/// for the first index `i` of the window past the end.
#[inline(always)]
#[track_caller]
pub fn window<T>(v: &[T], start: usize, n: usize) -> &[T] {
    fits(v.len(), start, n);
    &v[start.min(v.len())..][..n]
}

/// [`window`], mutable.
///
/// # Panics
/// As [`window`].
#[inline(always)]
#[track_caller]
pub fn window_mut<T>(v: &mut [T], start: usize, n: usize) -> &mut [T] {
    fits(v.len(), start, n);
    let at = start.min(v.len());
    &mut v[at..][..n]
}

#[inline(always)]
#[track_caller]
pub(crate) fn fits(len: usize, start: usize, n: usize) {
    if n > 0 && start.checked_add(n).is_none_or(|end| end > len) {
        out_of_bounds(len, start.max(len));
    }
}

#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn out_of_bounds(len: usize, index: usize) -> ! {
    panic!("index out of bounds: the len is {len} but the index is {index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_the_visited_elements() {
        let v = [0.0, 1.0, 2.0, 3.0, 4.0];
        assert_eq!(window(&v, 1, 3), &[1.0, 2.0, 3.0]);
        assert_eq!(window(&v, 0, 5), &v);
        assert_eq!(window(&v, 5, 0), &[] as &[f64]);
        let mut w = v;
        window_mut(&mut w, 3, 2)[1] = 9.0;
        assert_eq!(w, [0.0, 1.0, 2.0, 3.0, 9.0]);
    }

    #[test]
    fn an_empty_loop_takes_no_window_wherever_it_starts() {
        let v = [1.0f64; 3];
        assert!(window(&v, 7, 0).is_empty());
        assert!(window(&v, usize::MAX, 0).is_empty());
        let mut w = v;
        assert!(window_mut(&mut w, 4, 0).is_empty());
    }

    #[test]
    fn a_window_past_the_end_fails_like_the_first_index_past_it() {
        let v = [1.0f64; 3];
        let message = |start: usize, n: usize| {
            std::panic::catch_unwind(|| {
                window(&v, start, n);
            })
            .unwrap_err()
            .downcast::<String>()
            .unwrap()
        };
        // The loop `for j in 1..5` would fail at `v[3]`; `for j in 5..6`
        // at `v[5]`.
        assert_eq!(
            *message(1, 4),
            "index out of bounds: the len is 3 but the index is 3"
        );
        assert_eq!(
            *message(5, 1),
            "index out of bounds: the len is 3 but the index is 5"
        );
        assert_eq!(
            *message(usize::MAX, 2),
            format!(
                "index out of bounds: the len is 3 but the index is {}",
                usize::MAX
            )
        );
        let mut w = v;
        let r = std::panic::catch_unwind(move || {
            window_mut(&mut w, 2, 2);
        });
        assert!(r.is_err());
    }
}
