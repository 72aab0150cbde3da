//! Repeated element reads: `x[i] * x[i]` reads the same element twice, and
//! each read is a value the backward pass may have to keep (a tape entry per
//! iteration when `x` is written in the loop). A read of an element already
//! read in the same block, with neither the vector nor the index written in
//! between, reuses the first read. The value is the same load, so the
//! forward result is unchanged bit for bit. The same goes for a sub-slice
//! binding's `r[i] * r[i]`, whose two positions `__rt::view_index(a, i, n)`
//! are one value: once they are, the reads are too.

use crate::ir::{Block, Form, Function, Instr, Op, Operand, Stmt, VarId};
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

/// What makes two instructions the same value: an element read's vector
/// and index, or a view's position's operands (`__rt::view_index`, pure
/// arithmetic with a check): a tag and the variables it depends on, which
/// [`block`] resolves through the renames so far.
fn key(ins: &Instr, rename: &HashMap<VarId, VarId>) -> Option<(String, Vec<VarId>)> {
    let tag = match (ins.op, &ins.form) {
        (Op::Index, _) if ins.args.len() == 2 => "index",
        (Op::NonDiff, Form::ViewIndex) => "view",
        _ => return None,
    };
    let mut text = tag.to_string();
    let mut deps = Vec::new();
    for a in &ins.args {
        match a {
            Operand::Var(v) | Operand::Ref(v) => {
                let v = resolve(*v, rename);
                text += &format!(" v{}", v.0);
                deps.push(v);
            }
            Operand::Const(c) => text += &format!(" c{}", c.tokens),
            Operand::Slice(..) => return None,
        }
    }
    Some((text, deps))
}

fn block(b: &mut Block, temp: &[bool], sites: &[usize], rename: &mut HashMap<VarId, VarId>) {
    // Values seen so far in this block: key -> (what it depends on, the
    // variable holding it).
    let mut seen: HashMap<String, (Vec<VarId>, VarId)> = HashMap::new();
    let mut keep = Vec::with_capacity(b.stmts.len());
    for mut s in std::mem::take(&mut b.stmts) {
        let mut first = None;
        match &mut s {
            Stmt::Assign(ins) => {
                let k = (ins.decl && sites[ins.dest.0] == 1)
                    .then(|| key(ins, rename))
                    .flatten();
                match k.as_ref().and_then(|(text, _)| seen.get(text)) {
                    Some(&(_, held)) if temp[ins.dest.0] => {
                        rename.insert(ins.dest, held);
                        continue;
                    }
                    _ => first = k.map(|k| (k, ins.dest)),
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
        // A value is stale once anything it depends on, or its holder, is
        // written.
        seen.retain(|_, (deps, held)| {
            !written.contains(held) && deps.iter().all(|d| !written.contains(d))
        });
        if let Some(((text, deps), dest)) = first {
            seen.entry(text).or_insert((deps, dest));
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
