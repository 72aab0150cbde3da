//! Repeated element reads: `x[i] * x[i]` reads the same element twice, and
//! each read is a value the backward pass may have to keep (a tape entry per
//! iteration when `x` is written in the loop). A read of an element already
//! read in the same block, with neither the vector nor the index written in
//! between, reuses the first read. The value is the same load, so the
//! forward result is unchanged bit for bit.

use crate::ir::{Block, Function, Op, Operand, Stmt, VarId};
use std::collections::{HashMap, HashSet};

/// Removes repeated element reads into temporaries and renames their uses.
pub fn reuse_element_reads(f: &mut Function) {
    let sites = f.assignment_counts();
    let temp: Vec<bool> = f.vars.iter().map(|v| v.temp).collect();
    let mut rename = HashMap::new();
    block(&mut f.body, &temp, &sites, &mut rename);
    if rename.is_empty() {
        return;
    }
    rename_block(&mut f.body, &rename);
    rename_operand(&mut f.ret, &rename);
}

/// The key of an element read: the vector and the index.
fn key(ins: &crate::ir::Instr) -> Option<(VarId, String)> {
    let base = match ins.args.first()? {
        Operand::Var(v) | Operand::Ref(v) => *v,
        Operand::Const(_) | Operand::Slice(..) => return None,
    };
    let index = match ins.args.get(1)? {
        Operand::Var(v) | Operand::Ref(v) => format!("v{}", v.0),
        Operand::Const(c) => format!("c{}", c.tokens),
        Operand::Slice(..) => return None,
    };
    Some((base, index))
}

fn block(b: &mut Block, temp: &[bool], sites: &[usize], rename: &mut HashMap<VarId, VarId>) {
    // Reads seen so far in this block: key -> the variable holding it.
    let mut seen: HashMap<(VarId, String), VarId> = HashMap::new();
    let mut keep = Vec::with_capacity(b.stmts.len());
    for mut s in std::mem::take(&mut b.stmts) {
        let mut first_read = None;
        match &mut s {
            Stmt::Assign(ins) => {
                let read = (ins.op == Op::Index && ins.decl && sites[ins.dest.0] == 1)
                    .then(|| key(ins))
                    .flatten()
                    .map(|(base, index)| (resolve(base, rename), index));
                match read.as_ref().and_then(|k| seen.get(k)) {
                    Some(&first) if temp[ins.dest.0] => {
                        rename.insert(ins.dest, first);
                        continue;
                    }
                    _ => first_read = read.map(|k| (k, ins.dest)),
                }
            }
            Stmt::If(i) => {
                block(&mut i.then_block, temp, sites, rename);
                block(&mut i.else_block, temp, sites, rename);
            }
            Stmt::Loop(l) => block(&mut l.body, temp, sites, rename),
            Stmt::Store(_) | Stmt::BreakIf(_) | Stmt::Item(_) => {}
        }
        let mut written = HashSet::new();
        s.writes(&mut written);
        // A read is stale once its vector or index variable is written.
        for w in written {
            let tag = format!("v{}", w.0);
            seen.retain(|(base, index), held| *base != w && *index != tag && *held != w);
        }
        if let Some((k, dest)) = first_read {
            seen.entry(k).or_insert(dest);
        }
        keep.push(s);
    }
    b.stmts = keep;
}

fn resolve(v: VarId, rename: &HashMap<VarId, VarId>) -> VarId {
    rename.get(&v).copied().unwrap_or(v)
}

fn rename_operand(op: &mut Operand, rename: &HashMap<VarId, VarId>) {
    match op {
        Operand::Var(v) | Operand::Ref(v) => *v = resolve(*v, rename),
        Operand::Slice(v, b) => {
            *v = resolve(*v, rename);
            for bound in [&mut b.start, &mut b.end].into_iter().flatten() {
                rename_operand(bound, rename);
            }
        }
        Operand::Const(_) => {}
    }
}

pub fn rename_block(b: &mut Block, rename: &HashMap<VarId, VarId>) {
    for s in &mut b.stmts {
        match s {
            Stmt::Assign(ins) => ins.args.iter_mut().for_each(|a| rename_operand(a, rename)),
            Stmt::Store(st) => {
                rename_operand(&mut st.index, rename);
                rename_operand(&mut st.value, rename);
            }
            Stmt::If(i) => {
                rename_operand(&mut i.cond, rename);
                rename_block(&mut i.then_block, rename);
                rename_block(&mut i.else_block, rename);
            }
            Stmt::Loop(l) => {
                if let crate::ir::LoopHead::For {
                    iter:
                        crate::ir::IterSpec::Range {
                            start, end, step, ..
                        },
                    ..
                } = &mut l.head
                {
                    rename_operand(start, rename);
                    rename_operand(end, rename);
                    if let Some(k) = step {
                        rename_operand(k, rename);
                    }
                }
                rename_block(&mut l.body, rename);
            }
            Stmt::BreakIf(v) => *v = resolve(*v, rename),
            Stmt::Item(_) => {}
        }
    }
}
