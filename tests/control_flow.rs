//! Branches, loops and early exits: each function's gradient is checked
//! against central differences at several points away from kinks, and its
//! value against the original function bit for bit.

// The functions deliberately use the forms users write, lint or not.
#![allow(
    clippy::needless_return,
    clippy::collapsible_else_if,
    clippy::needless_range_loop,
    clippy::assign_op_pattern,
    clippy::needless_late_init,
    clippy::neg_cmp_op_on_partial_ord
)]

mod common;
use autodiff::check::GradCheck;
use autodiff::grad;

fn check(name: &str, f: impl Fn(&[f64]) -> f64, x: &[f64], g: &[f64]) {
    if let Err(r) = GradCheck::new().rel_tol(1e-6).abs_tol(1e-7).check(f, x, g) {
        panic!("{name}: gradient mismatch at {x:?}\n{r}");
    }
}

macro_rules! check2 {
    ($f:ident, $g:ident, $pts:expr) => {
        for p in $pts {
            let (v, (ga, gb)) = $g(p[0], p[1]);
            assert_eq!(
                v.to_bits(),
                $f(p[0], p[1]).to_bits(),
                "{} value",
                stringify!($f)
            );
            check(stringify!($f), |q| $f(q[0], q[1]), &p, &[ga, gb]);
        }
    };
}

const PTS: [[f64; 2]; 6] = [
    [0.3, 0.7],
    [-1.2, 0.4],
    [2.1, -0.6],
    [0.9, 1.3],
    [-0.4, -1.7],
    [1.6, 0.2],
];

#[grad]
fn if_statement(x: f64, y: f64) -> f64 {
    let mut r = x * y;
    if x > 0.5 {
        r = r.sin() + y;
    } else {
        r += x * x;
    }
    r * y
}

#[grad]
fn if_expression(x: f64, y: f64) -> f64 {
    let t = x * y;
    let r = if t > 0.2 {
        t.exp()
    } else if t < -0.5 {
        -t * x
    } else {
        t + y
    };
    r * x
}

#[grad]
fn if_without_else(x: f64, y: f64) -> f64 {
    let mut acc = y;
    if x < 0.0 {
        acc = acc * x;
    }
    if y > 1.0 {
        acc += 3.0 * y;
    }
    acc + x
}

#[grad]
fn logical_conditions(x: f64, y: f64) -> f64 {
    let r;
    if x > 0.0 && y > 0.0 || x < -1.0 {
        r = x * y;
    } else {
        r = x + y * y;
    }
    if !(x > 1.0) && (y < 0.5 || x * y > 2.0) {
        return r * 2.0;
    }
    r
}

#[grad]
fn match_on_integer(x: f64, n: i32) -> f64 {
    let k = match n {
        0 => x,
        1 | 2 => x * x,
        3..=5 => x.sin(),
        m if m < 0 => -x,
        _ => x.exp(),
    };
    k * x
}

#[test]
fn branches() {
    check2!(if_statement, if_statement_grad, PTS);
    check2!(if_expression, if_expression_grad, PTS);
    check2!(if_without_else, if_without_else_grad, PTS);
    check2!(logical_conditions, logical_conditions_grad, PTS);
    for n in [-3, 0, 1, 2, 4, 9] {
        for x in [0.3, -0.8, 1.4] {
            let (v, g) = match_on_integer_grad(x, n);
            assert_eq!(v, match_on_integer(x, n));
            check("match", |q| match_on_integer(q[0], n), &[x], &[g]);
        }
    }
}

/// The GaTech lecture's loop: l1 = x, l_{n+1} = 4 l_n (1 - l_n), f = l4.
#[grad]
fn logistic_map(x: f64) -> f64 {
    let mut v = x;
    for _ in 0..3 {
        v = 4.0 * v * (1.0 - v);
    }
    v
}

#[test]
fn gatech_logistic_map_against_the_closed_form() {
    for x in [0.1, 0.3, 0.45, 0.8] {
        let (f, g) = logistic_map_grad(x);
        // f(x) = 64x(1-x)(1-2x)^2(1-8x+8x^2)^2 and its derivative from the slide.
        let q = 1.0 - 8.0 * x + 8.0 * x * x;
        let closed = 64.0 * x * (1.0 - x) * (1.0 - 2.0 * x).powi(2) * q * q;
        let d = 128.0 * x * (1.0 - x) * (-8.0 + 16.0 * x) * (1.0 - 2.0 * x).powi(2) * q
            + 64.0 * (1.0 - x) * (1.0 - 2.0 * x).powi(2) * q * q
            - 64.0 * x * (1.0 - 2.0 * x).powi(2) * q * q
            - 256.0 * x * (1.0 - x) * (1.0 - 2.0 * x) * q * q;
        assert!((f - closed).abs() < 1e-12, "{f} vs {closed}");
        assert!((g - d).abs() < 1e-9 * d.abs().max(1.0), "{g} vs {d}");
    }
}

#[grad]
fn ranges(x: f64, n: usize) -> f64 {
    let mut acc = 0.0;
    for i in 0..n {
        acc += x.powi(i as i32) / (i as f64 + 1.0);
    }
    for i in 1..=n {
        acc = acc * 0.9 + (i as f64) * x;
    }
    for i in (0..n).rev() {
        acc -= (i as f64 + x).sin() * 0.1;
    }
    for i in (2..n + 5).step_by(3) {
        acc += x / (i as f64);
    }
    acc
}

#[test]
fn for_over_ranges_with_runtime_bounds() {
    for n in [0, 1, 4, 7] {
        for x in [0.3, -0.6, 1.2] {
            let (v, g) = ranges_grad(x, n);
            assert_eq!(v.to_bits(), ranges(x, n).to_bits());
            check("ranges", |q| ranges(q[0], n), &[x], &[g]);
        }
    }
}

#[grad]
fn nested(x: f64, y: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..4 {
        let mut row = x;
        for j in 0..i {
            row = row * y + (j as f64) * x;
        }
        s += row.tanh();
    }
    s
}

#[grad]
fn while_loop(x: f64, y: f64) -> f64 {
    let mut v = x;
    let mut k = 0;
    while k < 5 && v.abs() < 100.0 {
        v = v * y + 1.0;
        k += 1;
    }
    v
}

#[grad]
fn loop_break_continue(x: f64, y: f64) -> f64 {
    let mut acc = 0.0;
    let mut i = 0;
    loop {
        i += 1;
        if i % 3 == 0 {
            continue;
        }
        acc += x * (i as f64) + y * y;
        if acc > 20.0 || i > 8 {
            break;
        }
        acc = acc.sin() * 3.0;
    }
    acc
}

#[grad]
fn labeled(x: f64, y: f64) -> f64 {
    let mut acc = x;
    'outer: for i in 0..5 {
        for j in 0..5 {
            if j > i {
                continue 'outer;
            }
            acc = acc * 0.8 + y * (j as f64);
            if acc > 10.0 {
                break 'outer;
            }
        }
    }
    acc
}

#[test]
fn nested_while_loop_break_continue_labels() {
    check2!(nested, nested_grad, PTS);
    check2!(
        while_loop,
        while_loop_grad,
        [[0.5, 1.5], [1.0, -0.5], [2.0, 1.1], [-0.3, 0.9]]
    );
    check2!(loop_break_continue, loop_break_continue_grad, PTS);
    check2!(
        labeled,
        labeled_grad,
        [[0.5, 1.5], [1.0, -0.5], [2.0, 1.1], [-0.3, 0.9], [3.0, 2.5]]
    );
}

#[grad]
fn early_returns(x: f64, y: f64) -> f64 {
    if x < -1.0 {
        return x * y;
    }
    let mut acc = x;
    for i in 0..6 {
        acc = acc * y + 0.5;
        if acc > 3.0 {
            return acc.ln() + (i as f64);
        }
    }
    if y < 0.0 {
        return -acc;
    }
    acc * 2.0
}

#[test]
fn early_return_anywhere() {
    check2!(
        early_returns,
        early_returns_grad,
        [
            [-2.0, 0.5],
            [0.5, 1.5],
            [0.5, 0.3],
            [0.2, -0.4],
            [1.0, 2.0],
            [-0.5, 0.9]
        ]
    );
}

#[test]
fn snapshots_of_a_loop_and_a_branch() {
    common::snapshot("logistic_map", LOGISTIC_MAP_GRAD_SOURCE);
    common::snapshot("if_expression", IF_EXPRESSION_GRAD_SOURCE);
    common::snapshot("early_returns", EARLY_RETURNS_GRAD_SOURCE);
}

/// A value overwritten twice per iteration, once in a branch.
#[grad]
fn two_push_sites(x: f64, n: usize) -> f64 {
    let mut a = x;
    for i in 0..n {
        a = a.sin() * a + 0.3;
        if i % 2 == 0 {
            a = a.cos() * a;
        }
    }
    a
}

/// A value overwritten in its loop and in a loop nested in it.
#[grad]
fn nested_push_sites(x: f64, n: usize) -> f64 {
    let mut a = x;
    for _ in 0..n {
        a = a.sin() * a + 0.3;
        for _ in 0..2 {
            a = a.cos() * a;
        }
    }
    a
}

#[test]
fn tapes_sized_before_their_loops() {
    // Two sites a loop pushes to directly: two slots per iteration, and
    // pushes that cannot reallocate.
    let src = TWO_PUSH_SITES_GRAD_SOURCE;
    assert!(
        src.contains("tape_a.reserve(iterations.saturating_mul(2usize))"),
        "{src}"
    );
    assert_eq!(
        src.matches("push_reserved(&mut tape_a, a)").count(),
        2,
        "{src}"
    );
    // Pushed in the nested loop too: the outer loop's push may grow the
    // tape; the nested loop reserves and pushes its own.
    let src = NESTED_PUSH_SITES_GRAD_SOURCE;
    assert_eq!(src.matches("tape_a.push(a)").count(), 1, "{src}");
    assert_eq!(
        src.matches("push_reserved(&mut tape_a, a)").count(),
        1,
        "{src}"
    );
    for n in [0, 1, 4, 7] {
        for x in [0.3, -0.8, 1.1] {
            let (v, g) = two_push_sites_grad(x, n);
            assert_eq!(v, two_push_sites(x, n));
            check("two_push_sites", |p| two_push_sites(p[0], n), &[x], &[g]);
            let (v, g) = nested_push_sites_grad(x, n);
            assert_eq!(v, nested_push_sites(x, n));
            check(
                "nested_push_sites",
                |p| nested_push_sites(p[0], n),
                &[x],
                &[g],
            );
        }
    }
}

/// `let`s in a branch outside every loop, rewritten by the loop and the
/// element writes after them: each runs at most once, so nothing is taped
/// for the value before it (the hoisted default).
#[grad]
fn lets_in_a_branch(x: f64, y: f64) -> f64 {
    let mut out = 0.0;
    if x > y {
        let mut axis = [0.0; 3];
        for i in 0..3 {
            axis[i] = x * (i as f64 + 1.0) - y;
        }
        let mut s = axis[0] * axis[1];
        s = s * axis[2] + x.sin();
        axis[1] = s * y;
        out = axis[0] + axis[1] * axis[2];
    } else {
        let mut s = x * y;
        for _ in 0..3 {
            s = s.sin() + y;
        }
        out += s;
    }
    out
}

#[test]
fn a_let_outside_loops_saves_no_old_value() {
    let src = LETS_IN_A_BRANCH_GRAD_SOURCE;
    assert!(!src.contains("tape_axis"), "{src}");
    // `s` in the `else` is rewritten in a loop: the one tape, for the
    // values the loop overwrites.
    assert_eq!(src.matches("Tape::new()").count(), 1, "{src}");
    assert!(!src.contains(".push("), "{src}");
    for p in PTS.iter().chain(&[[0.5, 0.5 + 1e-3], [1.0, -1.0]]) {
        let (v, (gx, gy)) = lets_in_a_branch_grad(p[0], p[1]);
        assert_eq!(v.to_bits(), lets_in_a_branch(p[0], p[1]).to_bits());
        check(
            "lets_in_a_branch",
            |q| lets_in_a_branch(q[0], q[1]),
            p,
            &[gx, gy],
        );
    }
}
