//! A numerical gradient checker: "derive the analytic gradient, check your
//! implementation with the numerical gradient" (the lectures).
//!
//! Central differences `(f(x + h e_i) - f(x - h e_i)) / 2h`, evaluated in the
//! function's own float type, compared component-wise with
//! `approx::relative_eq!` plus an absolute floor (a relative test alone fails
//! for components that are exactly zero).
//!
//! ```
//! use autodiff_runtime::check::GradCheck;
//! let f = |v: &[f64]| (v[0] + v[1]) * v[2];
//! let analytic = [-4.0, -4.0, 3.0];
//! GradCheck::new().check(f, &[-2.0, 5.0, -4.0], &analytic).unwrap();
//! ```

use crate::real::Real;
use std::fmt;

/// Central-difference gradient of `f` at `x`, with step `h` in every coordinate.
pub fn numeric_gradient<T: Real>(f: impl Fn(&[T]) -> T, x: &[T], h: T) -> Vec<T> {
    let mut probe = x.to_vec();
    (0..x.len())
        .map(|i| {
            let xi = probe[i];
            probe[i] = xi + h;
            let up = f(&probe);
            probe[i] = xi - h;
            let down = f(&probe);
            probe[i] = xi;
            (up - down) / (h + h)
        })
        .collect()
}

/// Settings of a gradient check. The defaults suit `f64`; [`GradCheck::f32`]
/// gives settings for single precision.
#[derive(Clone, Copy, Debug)]
pub struct GradCheck {
    /// Finite-difference step, relative to `max(1, |x_i|)`.
    pub step: f64,
    /// Largest accepted relative error `|a - n| / max(|a|, |n|)`.
    pub rel_tol: f64,
    /// Differences below this are accepted whatever their relative size.
    pub abs_tol: f64,
}

impl Default for GradCheck {
    fn default() -> Self {
        Self::new()
    }
}

impl GradCheck {
    /// `f64` settings: step 1e-6, relative tolerance 1e-6, absolute 1e-8.
    pub fn new() -> Self {
        GradCheck {
            step: 1e-6,
            rel_tol: 1e-6,
            abs_tol: 1e-8,
        }
    }

    /// `f32` settings: step 1e-2, relative tolerance 2e-2, absolute 1e-3.
    /// Single-precision central differences carry errors of order
    /// `eps/h + h²` ≈ 1e-4 relative, so a tighter check would reject right answers.
    pub fn f32() -> Self {
        GradCheck {
            step: 1e-2,
            rel_tol: 2e-2,
            abs_tol: 1e-3,
        }
    }

    pub fn step(mut self, step: f64) -> Self {
        self.step = step;
        self
    }

    pub fn rel_tol(mut self, tol: f64) -> Self {
        self.rel_tol = tol;
        self
    }

    pub fn abs_tol(mut self, tol: f64) -> Self {
        self.abs_tol = tol;
        self
    }

    /// Compares `analytic` with the central-difference gradient of `f` at `x`.
    /// `Ok` and `Err` both carry the full per-component [`GradReport`].
    ///
    /// # Panics
    /// If `analytic` and `x` differ in length.
    pub fn check<T: Real>(
        &self,
        f: impl Fn(&[T]) -> T,
        x: &[T],
        analytic: &[T],
    ) -> Result<GradReport, GradReport> {
        assert_eq!(
            x.len(),
            analytic.len(),
            "GradCheck::check: {} inputs but {} analytic gradient entries",
            x.len(),
            analytic.len()
        );
        let mut probe = x.to_vec();
        let mut entries = Vec::with_capacity(x.len());
        for i in 0..x.len() {
            let xi = probe[i];
            let h = T::from_f64(self.step * xi.to_f64().abs().max(1.0));
            probe[i] = xi + h;
            let up = f(&probe);
            probe[i] = xi - h;
            let down = f(&probe);
            probe[i] = xi;
            // The step actually taken, after rounding x ± h to T.
            let width = (xi + h).to_f64() - (xi - h).to_f64();
            let numeric = (up.to_f64() - down.to_f64()) / width;
            let a = analytic[i].to_f64();
            let ok = approx::relative_eq!(
                a,
                numeric,
                epsilon = self.abs_tol,
                max_relative = self.rel_tol
            );
            entries.push(GradEntry {
                index: i,
                analytic: a,
                numeric,
                ok,
            });
        }
        let report = GradReport { entries };
        if report.entries.iter().all(|e| e.ok) {
            Ok(report)
        } else {
            Err(report)
        }
    }
}

/// One component of a gradient check.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradEntry {
    pub index: usize,
    pub analytic: f64,
    pub numeric: f64,
    pub ok: bool,
}

impl GradEntry {
    /// `|analytic - numeric| / max(|analytic|, |numeric|)`, 0 when both are 0.
    pub fn rel_error(&self) -> f64 {
        let scale = self.analytic.abs().max(self.numeric.abs());
        if scale == 0.0 {
            0.0
        } else {
            (self.analytic - self.numeric).abs() / scale
        }
    }
}

/// Every component of a gradient check, printable as a table.
#[derive(Clone, Debug, PartialEq)]
pub struct GradReport {
    pub entries: Vec<GradEntry>,
}

impl GradReport {
    /// The largest relative error over all components.
    pub fn max_rel_error(&self) -> f64 {
        self.entries
            .iter()
            .map(GradEntry::rel_error)
            .fold(0.0, f64::max)
    }
}

impl fmt::Display for GradReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>5}  {:>14}  {:>14}  {:>10}",
            "input", "analytic", "numeric", "rel.error"
        )?;
        for e in &self.entries {
            writeln!(
                f,
                "{:>5}  {:>14.7e}  {:>14.7e}  {:>10.2e}{}",
                e.index,
                e.analytic,
                e.numeric,
                e.rel_error(),
                if e.ok { "" } else { "  MISMATCH" }
            )?;
        }
        Ok(())
    }
}
