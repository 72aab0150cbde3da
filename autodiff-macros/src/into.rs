//! Calls whose vector gradients go straight into the caller's adjoint.
//!
//! A callee's `f_vjp` returns each vector's gradient as a fresh `Vec`, which
//! the caller adds into its own adjoint and drops: an allocation, a pass and
//! a free per vector argument per call, which in a loop over small vectors
//! (a mixture model's `logsumexp` per point, bundle adjustment's camera and
//! point per observation) cost as much as the arithmetic. `f_vjp_into` takes
//! a destination per vector parameter instead (the caller's adjoint, or the
//! part of it a sub-slice covers) and adds into it in place; a borrowed
//! vector parameter's adjoint inside the callee *is* that destination.
//!
//! A call whose gradient is taken in the forward pass ([`crate::split`]) has
//! no cotangent yet: it passes a scratch buffer of its own, reused by every
//! execution of the call, and its reverse adds the buffer, scaled, into the
//! adjoint.

use crate::activity::Activity;
use crate::ir::{Function, Instr, Kind, Operand, VarId};
use proc_macro2::{Ident, Span};
use std::collections::HashSet;

/// Per argument of the call `ins`, whether it is an active vector (whose
/// adjoint is a destination). `None` where the call keeps `f_vjp`: no
/// active vector argument, or one vector passed twice (two mutable borrows
/// of its adjoint).
pub fn vector_args(f: &Function, act: &Activity, ins: &Instr) -> Option<Vec<bool>> {
    let mut seen = HashSet::new();
    let mut twice = false;
    let vecs: Vec<bool> = ins
        .args
        .iter()
        .map(|a| match a {
            Operand::Var(v) | Operand::Ref(v) | Operand::Slice(v, _)
                if act.active(*v) && f.vars[v.0].kind == Kind::Vector =>
            {
                twice |= !seen.insert(*v);
                true
            }
            _ => false,
        })
        .collect();
    (!seen.is_empty() && !twice).then_some(vecs)
}

/// The scratch buffer of argument `i` of the split call assigning `dest`,
/// and the destination slice the forward pass takes from it. Hygienic, so
/// no user name can clash with them.
pub fn scratch(f: &Function, dest: VarId, i: usize) -> (Ident, Ident) {
    let x = &f.vars[dest.0].ident;
    (
        Ident::new(&format!("{x}_scratch{i}"), Span::mixed_site()),
        Ident::new(&format!("{x}_dst{i}"), Span::mixed_site()),
    )
}
