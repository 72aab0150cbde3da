//! Failures the differential fuzzer found, reduced by hand and fixed; each is
//! now compiled and checked against finite differences. What each one broke
//! is said above it.

#![allow(unused, clippy::all)]

use autodiff::check::GradCheck;
use autodiff::{grad, relu, sigmoid, softplus};

fn check(
    name: &str,
    f: impl Fn(&[f64]) -> f64,
    g: impl Fn(&[f64]) -> (f64, Vec<f64>),
    points: &[&[f64]],
) {
    for x in points {
        let (v, grad) = g(x);
        assert_eq!(v.to_bits(), f(x).to_bits(), "{name}: value at {x:?}");
        if let Err(r) = GradCheck::new()
            .rel_tol(1e-6)
            .abs_tol(1e-8)
            .check(&f, x, &grad)
        {
            panic!("{name}: gradient at {x:?}\n{r}");
        }
    }
}

macro_rules! check2 {
    ($f:ident, $g:ident, $pts:expr) => {
        check(
            stringify!($f),
            |x| $f(x[0], x[1]),
            |x| {
                let (v, (a, b)) = $g(x[0], x[1]);
                (v, vec![a, b])
            },
            $pts,
        )
    };
}

/// `cannot find value tN`: the `||` flag of a nested `if` was read by the
/// reverse sweep only to decide a pop, so it was not hoisted. (What the
/// sweep reads now includes what its pops need, to a fixpoint.)
#[grad]
fn or_condition_in_nested_if(a: f64, b: f64) -> f64 {
    if b < 0.5 {
        if a <= 0.1 || b < 0.0 {
            return a;
        }
    }
    a * b
}

#[grad]
fn else_if_or_condition(a: f64, b: f64) -> f64 {
    let mut s = a;
    if a > 1.0 {
        s = b;
    } else if a <= 0.1 || b < 0.0 {
        s = 2.0 * s;
    }
    s * b
}

#[grad]
fn or_condition_after_early_return(a: f64, b: f64) -> f64 {
    if a > 1.0 {
        return b;
    }
    let mut s = a;
    if a < 0.0 || b > 0.5 {
        s = 2.0 * s;
    }
    s * b
}

/// Mismatched types: one tape held both whole vectors and their elements.
#[grad]
fn vec_declared_in_loop(a: f64, x: &[f64]) -> f64 {
    let m = x.len();
    let mut s = 0.0;
    for i in 0..m {
        let mut y = x.to_vec();
        for j in 1..m {
            y[j] += a * y[j - 1];
        }
        s += y[m - 1];
    }
    s
}

#[grad]
fn vec_after_early_return(a: f64, x: &[f64]) -> f64 {
    if a > 1.0 {
        return a;
    }
    let mut y = vec![a; 3];
    y[0] *= x[0];
    y[0] + y[1]
}

/// Ambiguous `{float}`: `v = 0.1;` became `let v_1 = 0.1;`, losing `v`'s
/// type (now `let v_1 = like(&v, 0.1);`).
#[grad]
fn literal_reassignment_then_method(a: f64) -> f64 {
    let mut v = a.sin();
    v = 0.1;
    v *= v.abs() + a;
    v
}

/// Wrong (zero) gradient: `acc = acc;` in a branch copied a location into
/// itself, whose reverse consumed its own adjoint (found in p54 and p194).
#[grad]
fn self_assignment_in_branch(b: f64, c: f64) -> f64 {
    let mut acc = b * c;
    for _ in 0..2 {
        if acc < 10.0 {
            acc = acc;
        }
        acc += c.tanh();
    }
    acc.sin()
}

/// Panic (tape underflow): `a && b` tested a flag its own branch rewrote,
/// so the reverse took the other branch and popped out of step (p132).
#[grad]
fn and_condition_with_return_in_loop(b: f64, c: f64) -> f64 {
    let mut acc: f64 = b * 0.5;
    for i in 0..3 {
        acc += b.abs().tanh();
        if acc.tanh() >= b * 1.2 && (i as f64) > c {
            return sigmoid(c);
        }
    }
    b + c
}

/// Ambiguous `{float}`: a value recomputed in the reverse sweep lost its
/// annotation (`let acc5 = 1.0;`), found in p192.
#[grad]
fn recomputed_constant_keeps_its_type(a: f64, x: &[f64]) -> f64 {
    let m = x.len();
    let mut acc = a;
    for i in 1..m {
        let k: f64 = 1.0;
        for j in 1..m {
            acc = ((k * k) + 0.5).powf((x[j] * a).tanh()) + acc * 0.5;
        }
    }
    acc
}

/// `cannot find value y0`: a vector copy was recomputed like a scalar (p160).
#[grad]
fn vector_copy_in_nested_loop(a: f64, x: &[f64]) -> f64 {
    let m = x.len();
    let mut acc = a;
    for i in 0..2 {
        for j in 0..m {
            let y = x.to_vec();
            acc = (acc * y[(i + j) % m]).sin() + a;
        }
    }
    acc
}

#[grad]
fn p33(a: f64, b: f64, c: f64, k: i32, d: f64) -> f64 {
    let mut acc1: f64 = 0.0;
    for i in 0..2 {
        acc1 += ((c * c) + 0.5).ln();
        let v2 = if (i as f64).min(acc1) <= (k as f64) {
            acc1.sin()
        } else {
            c
        };
        let v3 = b;
        let v4 = match k {
            0 => v3 * ((i as f64) * (i as f64)),
            1 | 2 => c - ((std::f64::consts::PI * std::f64::consts::PI) + 0.5).ln(),
            3..=4 => (i as f64).tanh().exp().cos(),
            _ => (c / ((v3 * v3) + 1.0)).exp(),
        };
    }
    acc1 += ((((acc1 * c) + acc1.powi(3).tanh()) * ((acc1 * c) + acc1.powi(3).tanh())) + 0.5)
        .powf(((acc1 * acc1) + 0.1).sqrt().cos().tanh())
        .tanh();
    let mut acc5: f64 = 0.0;
    for i in (0..3).rev() {
        let v6 = if (((i as f64) * (i as f64)) + 0.5).powf(0.5) >= 1.0 {
            acc1
        } else if (acc1 - (k as f64)) < (-b) && (d + b) >= 0.0 {
            if !((acc5 * d) < (b * acc5)) {
            } else if !(acc1 > 0.0) {
            } else if c > 0.5 {
            }
            (((k as f64) * (k as f64)) + 0.5).powf(d.tanh())
        } else {
            c * (k as f64)
        };
    }
    acc1
}

#[grad]
fn p54(a: f64, b: f64, c: f64, d: f64) -> f64 {
    let mut acc1: f64 = 1.0;
    for i in 0..3 {
        acc1 += c.tanh();
        let mut v2 = ((3.0 + c) - d) * b;
        let v3 = acc1;
        if (-(i as f64)) <= (-0.5) {
            break;
        }
    }
    acc1 /= (b * b) + 1.0;
    let v4 = if acc1 >= 0.2 {
        let v5 = if (d * a) >= 0.0 {
            acc1 += c.exp();
            (d * d).tanh()
        } else {
            acc1 += ((0.3 / ((d * d) + 1.0)) / ((c * c) + 1.0)).powi(3);
            p33((-b), acc1.tanh(), 3.0, 0, d.exp().ln())
        };
        (a / ((acc1 * acc1) + 2.0)).exp().ln()
    } else {
        acc1 = acc1;
        acc1.cos() * (a * a)
    };
    let d: f64 = sigmoid(acc1).ln();
    ((d * v4) * v4).tanh()
}

#[test]
fn reduced_failures() {
    let pts: &[&[f64]] = &[&[0.05, -0.3], &[0.3, 0.2], &[1.4, 0.7], &[-0.6, 0.9]];
    check2!(
        or_condition_in_nested_if,
        or_condition_in_nested_if_grad,
        pts
    );
    check2!(else_if_or_condition, else_if_or_condition_grad, pts);
    check2!(
        or_condition_after_early_return,
        or_condition_after_early_return_grad,
        pts
    );
    check2!(
        self_assignment_in_branch,
        self_assignment_in_branch_grad,
        pts
    );
    check2!(
        and_condition_with_return_in_loop,
        and_condition_with_return_in_loop_grad,
        &[&[-0.28, 1.9], &[0.5, 0.2], &[0.9, -1.0]]
    );
    check(
        "literal_reassignment_then_method",
        |x| literal_reassignment_then_method(x[0]),
        |x| {
            let (v, g) = literal_reassignment_then_method_grad(x[0]);
            (v, vec![g])
        },
        &[&[0.3], &[-1.2]],
    );
    let xs = [0.3, -0.7, 1.1, 0.5];
    for (name, f, g) in [
        (
            "vec_declared_in_loop",
            vec_declared_in_loop as fn(f64, &[f64]) -> f64,
            vec_declared_in_loop_grad as fn(f64, &[f64]) -> (f64, (f64, Vec<f64>)),
        ),
        (
            "vec_after_early_return",
            vec_after_early_return,
            vec_after_early_return_grad,
        ),
        (
            "recomputed_constant_keeps_its_type",
            recomputed_constant_keeps_its_type,
            recomputed_constant_keeps_its_type_grad,
        ),
        (
            "vector_copy_in_nested_loop",
            vector_copy_in_nested_loop,
            vector_copy_in_nested_loop_grad,
        ),
    ] {
        for a in [0.4, -0.8] {
            let mut p = vec![a];
            p.extend(xs);
            check(
                name,
                |q| f(q[0], &q[1..]),
                |q| {
                    let (v, (ga, gx)) = g(q[0], &q[1..]);
                    let mut out = vec![ga];
                    out.extend(gx);
                    (v, out)
                },
                &[&p],
            );
        }
    }
}

/// p54 of seed 20240601 as generated (it calls p33): a wrong gradient for
/// `b` and `c` (exactly 0) before self-assignments were fixed.
#[test]
fn p54_gradient() {
    let x = [
        1.560241478453467,
        1.4845446583519286,
        -1.1673003787064986,
        -1.923171716257642,
    ];
    let (v, (g0, g1, g2, g3)) = p54_grad(x[0], x[1], x[2], x[3]);
    assert_eq!(v, p54(x[0], x[1], x[2], x[3]));
    GradCheck::new()
        .rel_tol(1e-5)
        .abs_tol(1e-6)
        .check(|q| p54(q[0], q[1], q[2], q[3]), &x, &[g0, g1, g2, g3])
        .unwrap();
}

/// p850 of seed 2000 as generated: a pop of an empty tape. The condition
/// `c * acc1 >= ..` was recomputed in the backward pass from `acc1`, which an
/// inner loop with nothing to differentiate overwrites; that loop's reverse
/// was empty, and with it went the pop restoring the `acc1` saved around it,
/// so the recomputed condition took a branch the forward pass had not. (An
/// empty loop reverse now keeps its pops.)
#[grad]
fn p850(x: &[f64], a: f64, b: f64, c: f64) -> f64 {
    let m = x.len();
    if c <= std::f64::consts::PI {
        let mut acc1: f64 = 0.0;
        for i in 1..m {
            for j in (0..m).step_by(2) {
                acc1 += (j as f64).tanh();
            }
            if (c * acc1) >= ((acc1 * acc1) + 0.5).powf(0.3) {
                return x[x.len() - 1 - i].powi(2);
            }
        }
    } else if std::f64::consts::PI.powi(4).tanh() < 0.5 && b.sin() < a {
    } else if b <= c.cos() {
    } else {
    }
    (c + c) * b
}

#[test]
fn p850_of_seed_2000() {
    let p = [
        0.47770467530253624,
        1.4876750006020436,
        -0.07672999287909854,
        -0.5789440872596812,
        -1.2826896004465176,
        0.12312244528389504,
        1.4351590172999225,
        1.352544383042082,
        0.548647382434821,
    ];
    let f = |q: &[f64]| p850(&q[..6], q[6], q[7], q[8]);
    let (v, (gx, ga, gb, gc)) = p850_grad(&p[..6], p[6], p[7], p[8]);
    assert_eq!(v, f(&p));
    let mut g = gx;
    g.extend([ga, gb, gc]);
    GradCheck::new()
        .rel_tol(1e-6)
        .abs_tol(1e-8)
        .check(f, &p, &g)
        .unwrap();
}
