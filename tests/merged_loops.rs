//! Adjacent element-wise loops over one range run as one loop in the
//! gradient code (`autodiff-macros/src/merge.rs`): values bit for bit,
//! gradients against central differences, and shapes that must stay apart.
// Index loops are the form under test.
#![allow(clippy::needless_range_loop)]

mod common;

use autodiff::grad;
use common::{check_f32, check_f64, count};

/// A formula in steps over one range, as GMM centres and scales a point:
/// three loops that run as one (the third reads and rewrites the element
/// the second wrote), then a sum that stays a loop of its own. In `f64` and
/// `f32`.
macro_rules! steps {
    ($name:ident, $t:ty) => {
        #[grad]
        fn $name(x: &[$t], mu: &[$t], s: &[$t]) -> $t {
            let n = x.len();
            let mut c = vec![0.0; n];
            let mut q = vec![0.0; n];
            for i in 0..n {
                c[i] = x[i] - mu[i];
            }
            for i in 0..n {
                q[i] = (0.5 * s[i]).exp() * c[i];
            }
            for i in 0..n {
                q[i] = (q[i] * c[i]).sin() + q[i];
            }
            let mut total = 0.0;
            for i in 0..n {
                total += q[i] * q[i];
            }
            total
        }
    };
}
steps!(steps, f64);
steps!(steps_f32, f32);

/// Steps per component, with the scratch vectors overwritten by every
/// component and read again by its reverse: the merged loop's saved slice
/// must give each component's reverse its own values.
#[grad]
fn components(x: &[f64], mu: &[f64], s: &[f64]) -> f64 {
    let d = x.len();
    let k = mu.len() / d;
    let mut c = vec![0.0; d];
    let mut q = vec![0.0; d];
    let mut total = 0.0;
    for j in 0..k {
        for i in 0..d {
            c[i] = x[i] - mu[j * d + i];
        }
        for i in 0..d {
            q[i] = s[j * d + i] * c[i];
        }
        let mut sq = 0.0;
        for i in 0..d {
            sq += q[i] * c[i].cos();
        }
        total += (-sq * sq).exp();
    }
    total.ln()
}

/// Loops that must not run as one: the second reads a neighbour the first
/// has not written yet, the third runs over another range, the fourth
/// backwards, and the fifth adds into a sum.
#[grad]
fn apart(x: &[f64]) -> f64 {
    let n = x.len();
    let mut y = vec![0.0; n];
    let mut z = vec![0.0; n];
    for i in 0..n {
        y[i] = x[i] * x[i];
    }
    for i in 0..n {
        z[i] = y[(i + 1) % n] + x[i];
    }
    for i in 1..n {
        y[i] = z[i - 1].sin();
    }
    for i in (0..n).rev() {
        z[i] *= y[i];
    }
    let mut s = 0.0;
    for i in 0..n {
        s += z[i];
    }
    for i in 0..n {
        y[i] = z[i] * s;
    }
    y[0] + y[n - 1]
}

fn split3(p: &[f64]) -> (&[f64], &[f64], &[f64]) {
    let n = p.len() / 3;
    (&p[..n], &p[n..2 * n], &p[2 * n..])
}

fn join3<T: Copy>(a: Vec<T>, b: Vec<T>, c: Vec<T>) -> Vec<T> {
    a.into_iter().chain(b).chain(c).collect()
}

#[test]
fn steps_run_as_one_loop() {
    for n in 1..=6 {
        check_f64(
            &format!("steps/{n}"),
            |p| {
                let (x, mu, s) = split3(p);
                steps(x, mu, s)
            },
            |p| {
                let (x, mu, s) = split3(p);
                let (v, (gx, gmu, gs)) = steps_grad(x, mu, s);
                (v, join3(gx, gmu, gs))
            },
            &vec![(-1.0, 1.0); 3 * n],
            |_| true,
        );
        check_f32(
            &format!("steps_f32/{n}"),
            |p| {
                let (x, mu, s) = split3(p);
                steps(x, mu, s)
            },
            |p| {
                let n = p.len() / 3;
                steps_f32(&p[..n], &p[n..2 * n], &p[2 * n..])
            },
            |p| {
                let n = p.len() / 3;
                let (v, (gx, gmu, gs)) = steps_f32_grad(&p[..n], &p[n..2 * n], &p[2 * n..]);
                (v, join3(gx, gmu, gs))
            },
            // Values small enough for single-precision differences.
            &vec![(-0.7, 0.7); 3 * n],
            |_| true,
        );
    }
    // The three steps are one windowed loop, forwards and backwards (the
    // sum's loop runs its reverse inside its forward, unwindowed).
    let src = STEPS_GRAD_SOURCE;
    assert_eq!(count(src, "for window_at_"), 2, "{src}");
    common::snapshot("merged_steps", src);
}

#[test]
fn each_component_reverses_with_its_own_values() {
    for (d, k) in [(1, 1), (2, 3), (3, 2), (4, 4)] {
        check_f64(
            &format!("components/{d}x{k}"),
            |p| components(&p[..d], &p[d..d + d * k], &p[d + d * k..]),
            |p| {
                let (v, (gx, gmu, gs)) =
                    components_grad(&p[..d], &p[d..d + d * k], &p[d + d * k..]);
                (v, join3(gx, gmu, gs))
            },
            &vec![(-1.0, 1.0); d + 2 * d * k],
            |_| true,
        );
    }
    // The centring and scaling run as one loop. `c` and `q` are saved
    // whole before it, once per component, and put back after its reverse:
    // the loop reads `c[i]` after writing it, which its reverse reads again.
    let src = COMPONENTS_GRAD_SOURCE;
    assert_eq!(count(src, "extend_from_slice(&c[0..d])"), 1, "{src}");
    assert_eq!(count(src, "extend_from_slice(&q[0..d])"), 1, "{src}");
    assert_eq!(count(src, "push_reserved(&mut tape_c_elem"), 0, "{src}");
}

#[test]
fn dependent_loops_stay_apart() {
    for n in 2..=6 {
        check_f64(
            &format!("apart/{n}"),
            apart,
            |x| {
                let (v, g) = apart_grad(x);
                (v, g)
            },
            &vec![(-1.0, 1.0); n],
            |_| true,
        );
    }
}
