//! The reverse sweep: adjoint statements in reverse order of the forward code.
//!
//! For each active instruction, last to first, every active argument gets the
//! rule's contribution `local gradient × upstream adjoint`. An adjoint that
//! never receives a contribution is zero and is simply not read; nothing is
//! zero-initialised.

use crate::activity::Activity;
use crate::ir::{Function, Op, Operand, VarId};
use crate::lower::atomic_tokens;
use crate::names::Names;
use crate::rules::{self, Arg};
use proc_macro2::{Ident, TokenStream};
use quote::ToTokens;
use std::collections::HashMap;

/// `grad_target (+)= expr`
pub struct Contribution {
    pub target: VarId,
    pub expr: TokenStream,
}

pub struct Adjoint {
    /// In emission order; the first per target is its `let`.
    pub contributions: Vec<Contribution>,
    pub names: HashMap<VarId, Ident>,
    /// The output's adjoint, seeded before the sweep.
    pub seed_target: Option<VarId>,
}

impl Adjoint {
    pub fn name(&self, v: VarId) -> Option<&Ident> {
        self.names.get(&v)
    }
}

pub fn operand_tokens(f: &Function, op: &Operand) -> TokenStream {
    match op {
        Operand::Var(v) => f.vars[v.0].ident.to_token_stream(),
        Operand::Const(c) => atomic_tokens(c),
    }
}

/// Builds the adjoint statements; `seed` is the output's cotangent
/// expression (`1.0` for the gradient, the caller's value for a pullback).
pub fn reverse(f: &Function, act: &Activity, names: &mut Names, seed: TokenStream) -> Adjoint {
    let mut adj = Adjoint {
        contributions: Vec::new(),
        names: HashMap::new(),
        seed_target: None,
    };
    let mut name_of = |adj: &mut Adjoint, v: VarId| -> Ident {
        adj.names
            .entry(v)
            .or_insert_with(|| names.fresh(&format!("grad_{}", f.vars[v.0].ident)))
            .clone()
    };
    if let Operand::Var(v) = &f.ret {
        if act.active(*v) {
            name_of(&mut adj, *v);
            adj.seed_target = Some(*v);
            adj.contributions.push(Contribution {
                target: *v,
                expr: seed,
            });
        }
    }
    for ins in f.instrs().rev() {
        let Op::Prim(prim) = ins.op else { continue };
        if !act.active(ins.dest) {
            continue;
        }
        // No contribution reached this value: its adjoint is zero.
        let Some(g) = adj.names.get(&ins.dest).cloned() else {
            continue;
        };
        let args: Vec<Arg> = ins
            .args
            .iter()
            .map(|a| Arg {
                tokens: operand_tokens(f, a),
                int: match a {
                    Operand::Const(c) => c.int,
                    Operand::Var(_) => None,
                },
            })
            .collect();
        let y = &f.vars[ins.dest.0].ident;
        for (i, a) in ins.args.iter().enumerate() {
            let Operand::Var(v) = a else { continue };
            if !act.active(*v) {
                continue;
            }
            if let Some(expr) = rules::pullback(prim, i, &args, y, &g) {
                name_of(&mut adj, *v);
                adj.contributions.push(Contribution { target: *v, expr });
            }
        }
    }
    adj
}
