//! Calls that take the callee's gradient together with its value.
//!
//! A call's reverse normally goes through the callee's `f_vjp`, which runs
//! the callee's forward pass again to get at what its reverse reads: a call
//! costs two forward passes and one reverse. Every `#[grad]` and
//! `#[custom_grad]` function returns a scalar, so its pullback is linear in
//! the cotangent (`pullback(c) = c · pullback(1)`), and a caller can instead
//! call `f_grad_vjp` in its forward pass (value and gradient at cotangent 1)
//! and scale what it kept by the cotangent in its reverse.
//!
//! The kept gradient has to reach the reverse. Where the call's reverse runs
//! in the scope of the call, a local does that: calls in the function's top
//! block, and in the top block of a fused loop's body (whose reverse runs at
//! the end of the same iteration, [`crate::fuse`]). Elsewhere the gradient
//! would need a tape of its own, one per iteration, and the call keeps its
//! `f_vjp`. In a hand-written gradient of a mixture model this is the
//! difference between computing each point's `logsumexp` once and twice.

use crate::activity::Activity;
use crate::fuse::Fused;
use crate::ir::{Block, Form, Function, Op, Stmt, VarId};
use proc_macro2::{Ident, Span};
use std::collections::HashSet;

/// The destinations of the calls whose gradient is taken in the forward pass
/// (each assigned at one site, so its locals name one call).
pub fn split_calls(f: &Function, act: &Activity, fused: &Fused, sites: &[usize]) -> HashSet<VarId> {
    let mut out = HashSet::new();
    let mut scan = |b: &Block| {
        for s in &b.stmts {
            if let Stmt::Assign(ins) = s {
                let active_arg = ins
                    .args
                    .iter()
                    .any(|a| a.var().is_some_and(|v| act.active(v)));
                if ins.op == Op::Call
                    && matches!(ins.form, Form::Call(_))
                    && act.active(ins.dest)
                    && sites[ins.dest.0] == 1
                    && active_arg
                {
                    out.insert(ins.dest);
                }
            }
        }
    };
    scan(&f.body);
    for l in crate::fuse::fused_loops(f, fused) {
        scan(&l.body);
    }
    out
}

/// The locals a split call binds: its value and the callee's gradient at
/// cotangent 1. Hygienic, so no user name can clash with them.
pub fn locals(f: &Function, dest: VarId) -> (Ident, Ident) {
    let x = &f.vars[dest.0].ident;
    let value = Ident::new(&format!("{x}_value"), Span::mixed_site());
    let grads = Ident::new(&format!("{x}_gradient"), Span::mixed_site());
    (value, grads)
}
