//! Static facts the two sweeps share: where each variable is assigned, how
//! its adjoint is declared, what must be kept for the backward pass.
//!
//! - An adjoint whose contributions all come from the block its value is
//!   defined in is a plain `let` at its first contribution (the flat code of
//!   the lectures); any other is declared once, zeroed, before the sweep.
//! - A value the backward pass reads that is defined inside a branch or loop
//!   is hoisted to the top of the function (Rust would drop it at the end of
//!   its block); one that is overwritten while still needed (each loop
//!   iteration overwrites its body's values) gets a tape: the old value is
//!   pushed before each overwrite and popped back in reverse.

use crate::activity::Activity;
use crate::ir::{Function, IterSpec, Kind, LoopHead, Op, Operand, Stmt, VarId};
use std::collections::HashSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdjCat {
    /// `let grad_v = ...;` at the first contribution, in v's own block.
    Local,
    /// `let mut grad_v = 0;` before the sweep, `+=` everywhere.
    Upfront,
}

pub struct Plan {
    /// Number of `Assign` statements writing each variable.
    pub sites: Vec<usize>,
    /// The block of the user's `let` of each variable (0 for parameters).
    pub decl_block: Vec<Option<usize>>,
    /// Assigned inside a loop, or at several sites: may be overwritten.
    pub reassigned: Vec<bool>,
    /// Element-written (`y[i] = ...`).
    pub stored: Vec<bool>,
    pub cat: Vec<AdjCat>,
    /// Read by the backward pass (filled in by its first run).
    pub needed: HashSet<VarId>,
    /// Range loops (by counter) whose indices the sweep regenerates: their
    /// bounds are not assigned inside the loop.
    pub regen: HashSet<VarId>,
}

impl Plan {
    pub fn new(f: &Function, act: &Activity) -> Plan {
        let n = f.vars.len();
        let mut sites = vec![0; n];
        let mut decl_block = vec![None; n];
        let mut reassigned = vec![false; n];
        let mut stored = vec![false; n];
        let mut use_blocks: Vec<HashSet<usize>> = vec![HashSet::new(); n];
        for p in f.params.iter().flatten() {
            decl_block[p.0] = Some(0);
        }
        let note_use = |use_blocks: &mut Vec<HashSet<usize>>, op: &Operand, block: usize| {
            if let Some(v) = op.var() {
                use_blocks[v.0].insert(block);
            }
        };
        for (s, block, depth) in f.stmts() {
            match s {
                Stmt::Assign(ins) => {
                    let d = ins.dest.0;
                    sites[d] += 1;
                    if depth > 0 {
                        reassigned[d] = true;
                    }
                    if ins.decl && decl_block[d].is_none() {
                        decl_block[d] = Some(block);
                    }
                    if act.active(ins.dest) && ins.op != Op::NonDiff {
                        for a in &ins.args {
                            note_use(&mut use_blocks, a, block);
                        }
                    }
                }
                Stmt::Store(st) => {
                    stored[st.vec.0] = true;
                    if act.active(st.vec) {
                        note_use(&mut use_blocks, &st.value, block);
                    }
                }
                Stmt::Loop(l) => {
                    sites[l.counter.0] += 1;
                    decl_block[l.counter.0] = Some(block);
                    if depth > 0 {
                        reassigned[l.counter.0] = true;
                    }
                }
                _ => {}
            }
        }
        if let Some(v) = f.ret.var() {
            use_blocks[v.0].insert(0);
        }
        for v in 0..n {
            if sites[v] > 1 {
                reassigned[v] = true;
            }
        }
        let cat = (0..n)
            .map(|v| {
                let var = &f.vars[v];
                let local = var.kind == Kind::Scalar
                    && !var.internal
                    && sites[v] <= 1
                    && decl_block[v].is_some()
                    && use_blocks[v].iter().all(|b| Some(*b) == decl_block[v]);
                if local {
                    AdjCat::Local
                } else {
                    AdjCat::Upfront
                }
            })
            .collect();
        let mut regen = HashSet::new();
        for (s, _, _) in f.stmts() {
            if let Stmt::Loop(l) = s {
                if let LoopHead::For {
                    iter:
                        IterSpec::Range {
                            start, end, step, ..
                        },
                    ..
                } = &l.head
                {
                    let mut inside = Vec::new();
                    l.body.walk(&mut inside, 0);
                    let written: HashSet<VarId> = inside
                        .iter()
                        .filter_map(|(s, _, _)| match s {
                            Stmt::Assign(i) => Some(i.dest),
                            _ => None,
                        })
                        .collect();
                    let bounds = [Some(start), Some(end), step.as_ref()];
                    if bounds
                        .iter()
                        .flatten()
                        .filter_map(|o| o.var())
                        .all(|v| !written.contains(&v))
                    {
                        regen.insert(l.counter);
                    }
                }
            }
        }
        Plan {
            sites,
            decl_block,
            reassigned,
            stored,
            cat,
            needed: HashSet::new(),
            regen,
        }
    }

    /// Declared at the top of the function rather than at its `let`.
    pub fn hoisted(&self, f: &Function, act: &Activity, v: VarId) -> bool {
        let var = &f.vars[v.0];
        if var.internal {
            return true;
        }
        let in_region = self.decl_block[v.0].is_some_and(|b| b != 0);
        in_region && (self.needed.contains(&v) || (var.kind == Kind::Vector && act.active(v)))
    }

    /// Has a tape: needed by the backward pass and overwritten.
    pub fn taped(&self, v: VarId) -> bool {
        self.needed.contains(&v) && (self.reassigned[v.0] || self.stored[v.0])
    }
}
