//! Adjacent element-wise loops over the same range, run as one loop.
//!
//! Code over vectors is often written as a sequence of small loops, each a
//! step of the formula: `for i in 0..d { c[i] = x[i] - mu[i]; }` and then
//! `for i in 0..d { q[i] = s[i] * c[i]; }` (GMM's centring and scaling).
//! Each loop costs its set-up in the forward sweep and again in the reverse
//! (windows, bounds checks, the loop itself), and when the vectors are short
//! (GMM's d = 2) the set-ups cost more than the arithmetic. A hand-written
//! gradient does both steps in one loop, forwards and backwards.
//!
//! Two loops may run as one when iteration `i` of the second reads nothing
//! that a later iteration of the first writes, and the reverse: here, when
//! both bodies are *element-wise*: every variable they assign is a fresh
//! binding of the body, and every vector element they write is the
//! iteration's own (`v[i]`, `i` the loop variable). A vector that either
//! body writes must then be touched only as `v[i]` in both. Each element is
//! computed by the same operations, in the same order, so the merged loop's
//! values are the original's bit for bit; no floating-point reduction is
//! merged (an accumulator is not a fresh binding), so no vectorisable loop
//! is slowed by a serial chain from the other.
//!
//! The merge runs on the IR before any analysis, so the gradient code of the
//! merged loop is the one the user would get by writing it merged.

use crate::fuse::same;
use crate::ir::{Block, Function, IterSpec, Loop, LoopHead, Op, Operand, Stmt, VarId};
use crate::reuse::rename_block;
use std::collections::{HashMap, HashSet};

/// Merges every run of adjacent element-wise loops, in every block.
pub fn merge_loops(f: &mut Function) {
    let sites = f.assignment_counts();
    block(&mut f.body, &sites);
}

fn block(b: &mut Block, sites: &[usize]) {
    for s in &mut b.stmts {
        match s {
            Stmt::If(i) => {
                block(&mut i.then_block, sites);
                block(&mut i.else_block, sites);
            }
            Stmt::Loop(l) => block(&mut l.body, sites),
            _ => {}
        }
    }
    let mut out: Vec<Stmt> = Vec::with_capacity(b.stmts.len());
    for mut s in std::mem::take(&mut b.stmts) {
        if let (Some(Stmt::Loop(first)), Stmt::Loop(second)) = (out.last_mut(), &mut s) {
            if let Some(rename) = mergeable(first, second, sites) {
                rename_block(&mut second.body, &rename);
                first.body.stmts.append(&mut second.body.stmts);
                continue;
            }
        }
        out.push(s);
    }
    b.stmts = out;
}

/// `start..end` of a plain forward `for` loop, with its variable.
fn plain_range(l: &Loop) -> Option<(VarId, &Operand, &Operand, bool)> {
    match &l.head {
        LoopHead::For {
            var: Some(v),
            iter:
                IterSpec::Range {
                    start,
                    end,
                    inclusive,
                    rev: false,
                    step: None,
                },
        } => Some((*v, start, end, *inclusive)),
        _ => None,
    }
}

/// The renaming of the second loop's variable to the first's, when the
/// two loops may run as one.
fn mergeable(first: &Loop, second: &Loop, sites: &[usize]) -> Option<HashMap<VarId, VarId>> {
    let (v1, s1, e1, inc1) = plain_range(first)?;
    let (v2, s2, e2, inc2) = plain_range(second)?;
    if inc1 != inc2 || !same(s1, s2) || !same(e1, e2) {
        return None;
    }
    let mut a = Access::default();
    elementwise(&first.body, v1, sites, &mut a)?;
    elementwise(&second.body, v2, sites, &mut a)?;
    if a.stored.iter().any(|v| a.other.contains(v)) {
        return None;
    }
    Some(HashMap::from([(v2, v1)]))
}

/// What element-wise bodies touch.
#[derive(Default)]
struct Access {
    /// Vectors written as `v[i]`.
    stored: HashSet<VarId>,
    /// Variables read in any other way than as `v[i]`.
    other: HashSet<VarId>,
}

/// Records what `b` touches; `None` when it is not element-wise in `i`.
fn elementwise(b: &Block, i: VarId, sites: &[usize], a: &mut Access) -> Option<()> {
    let own = |o: &Operand| matches!(o, Operand::Var(v) if *v == i);
    for s in &b.stmts {
        match s {
            Stmt::Assign(ins) => {
                // A fresh binding of the body, by an operation without
                // effects or allocation.
                let pure = matches!(ins.op, Op::Prim(_) | Op::NonDiff | Op::Index)
                    && !matches!(ins.form, crate::ir::Form::Call(_));
                if !pure || !ins.decl || sites[ins.dest.0] != 1 {
                    return None;
                }
                // `v[i]` reads the iteration's own element of `v`.
                let element = ins.op == Op::Index && ins.args.len() == 2 && own(&ins.args[1]);
                for (n, arg) in ins.args.iter().enumerate() {
                    if !(element && n == 0) {
                        a.other.extend(arg.reads());
                    }
                }
            }
            Stmt::Store(st) => {
                if !own(&st.index) {
                    return None;
                }
                a.stored.insert(st.vec);
                a.other.extend(st.value.reads());
            }
            Stmt::If(f) => {
                a.other.extend(f.cond.reads());
                elementwise(&f.then_block, i, sites, a)?;
                elementwise(&f.else_block, i, sites, a)?;
            }
            Stmt::Loop(_) | Stmt::BreakIf(_) | Stmt::Item(_) => return None,
        }
    }
    Some(())
}
