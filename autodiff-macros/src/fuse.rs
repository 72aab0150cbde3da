//! Loops whose reverse runs inside the forward pass, iteration by iteration.
//!
//! The reverse of a loop normally waits for the code after it: the adjoint
//! of what the loop computes is known only once the rest of the function
//! has been reversed, so everything an iteration's reverse reads is kept
//! (taped or recomputed) and the loop runs a second time, backwards. A
//! hand-written gradient of `e = Σ f(u_i)` does not wait: `∂out/∂e` is
//! known before the loop starts (it is 1, or the cotangent), so it adds
//! `f'(u_i)` into the gradient in the same pass. This module finds the
//! loops where that is exact, so the sweeps can do the same:
//!
//! - *Known adjoints*: a scalar whose only uses are additions into itself
//!   (`s += t`, `s -= t`) and one use on a chain of `+`, `-` and negations
//!   to the returned value has adjoint `±cotangent` at every point (an accumulator's adjoint
//!   does not change through `s = s + t`).
//! - *Fusable loop*: a top-level loop whose active results are only such
//!   accumulators. Every other active value it writes lives in one
//!   iteration: declared in the body, or a scratch vector the iteration
//!   overwrites whole before it reads it (`for j in 0..d { xc[j] = ... }`
//!   on a `vec![0.0; d]`) and nothing reads after the loop. Then iteration `i`'s reverse needs nothing from
//!   other iterations, and its contributions to values from before the
//!   loop add up the same in any order. An iteration's reverse runs just
//!   before the loop's closing `if stop { break; }` (`break`, `return` and
//!   a `while` condition set the flag and guard the rest of the body), and
//!   nothing the loop writes may be read before it (the
//!   reverse of that code would need the value from before the loop) or be
//!   an adjoint target written after it (a later write would reset the
//!   adjoint the loop already added into).
//! - *What a fused iteration need not keep*: the value a variable had
//!   before its `let` in the body (the previous iteration's:
//!   [`crate::plan::Plan::fresh_let`]), a value saved around a loop in the
//!   body that no earlier statement's reverse reads, and the old elements of
//!   a scratch vector the body overwrites once per iteration
//!   ([`unsaved_scratch`]). A hand-written gradient keeps none of them.

use crate::activity::Activity;
use crate::ir::{
    Form, Function, Instr, IterSpec, Kind, LoopHead, Op, Operand, Stmt, StoreMode, VarId,
};
use crate::rules::Prim;
use std::collections::{HashMap, HashSet};

/// Per fusable loop (by counter), its accumulators and whether each one's
/// adjoint is minus the cotangent.
pub type Fused = HashMap<VarId, Vec<(VarId, bool)>>;

pub fn fusable(
    f: &Function,
    act: &Activity,
    decl_block: &[Option<usize>],
    sites: &[usize],
    exact: &HashSet<VarId>,
) -> Fused {
    let known = known_adjoints(f, act);
    let mut out = Fused::new();
    let top = &f.body.stmts;
    for (pos, s) in top.iter().enumerate() {
        let Stmt::Loop(l) = s else { continue };
        let mut inside = Vec::new();
        l.body.walk(&mut inside, 0);
        let blocks = blocks_of(l);
        // The iteration's reverse runs before the loop's closing `if stop {
        // break; }` (a `while` condition, a `break`, a `return`: the flags
        // guard the rest of the body, and its reverse): one anywhere else
        // would skip it.
        let last = l.body.stmts.len().saturating_sub(1);
        let early_exit = l
            .body
            .stmts
            .iter()
            .enumerate()
            .any(|(at, s)| matches!(s, Stmt::BreakIf(_)) && at != last);
        if early_exit {
            continue;
        }
        let written = {
            let mut w = HashSet::new();
            s.writes(&mut w);
            w
        };
        let mut before = HashSet::new();
        for s in &top[..pos] {
            reads(f, s, &mut before);
        }
        let mut after = HashSet::new();
        for s in &top[pos + 1..] {
            reads(f, s, &mut after);
        }
        if let Some(v) = f.ret.var() {
            after.insert(v);
        }
        let mut accs = Vec::new();
        let ok = written.iter().all(|&v| {
            let var = &f.vars[v.0];
            if let Some(&neg) = known.get(&v) {
                if act.active(v) {
                    accs.push((v, neg));
                }
                return true;
            }
            let own_var = matches!(l.head, LoopHead::For { var: Some(x), .. } if x == v);
            let local = own_var || decl_block[v.0].is_some_and(|b| blocks.contains(&b));
            if before.contains(&v) {
                return false;
            }
            match var.kind {
                Kind::Tensor => false,
                // Read after the loop, its last values (and their adjoint)
                // belong to the last iteration, whose reverse would not wait.
                // Declared in the body (`let y = [a, b];`), it lives one
                // iteration.
                Kind::Vector => {
                    local || (!after.contains(&v) && killed_each_iteration(f, l, v, sites, exact))
                }
                Kind::Scalar if act.active(v) => local || (var.internal && !after.contains(&v)),
                Kind::Scalar | Kind::Other => true,
            }
        });
        if !ok || accs.is_empty() {
            continue;
        }
        // Adjoint targets outside the loop: nothing after it writes them.
        let mut targets = HashSet::new();
        for (s, _, _) in &inside {
            match s {
                Stmt::Assign(ins) if act.active(ins.dest) => {
                    targets.extend(ins.args.iter().filter_map(Operand::var));
                }
                Stmt::Store(st) if act.active(st.vec) => {
                    targets.extend(st.value.var());
                }
                _ => {}
            }
        }
        let mut later_writes = HashSet::new();
        for s in &top[pos + 1..] {
            s.writes(&mut later_writes);
        }
        if targets
            .iter()
            .any(|v| !written.contains(v) && later_writes.contains(v))
        {
            continue;
        }
        accs.sort();
        out.insert(l.counter, accs);
    }
    out
}

/// The fused loops of `f`, in program order (all at its top level).
pub fn fused_loops<'f>(
    f: &'f Function,
    fused: &'f Fused,
) -> impl Iterator<Item = &'f crate::ir::Loop> {
    f.body.stmts.iter().filter_map(move |s| match s {
        Stmt::Loop(l) if fused.contains_key(&l.counter) => Some(l),
        _ => None,
    })
}

/// Per loop directly in a fused loop's body, the scratch vectors it
/// overwrites whole and that nothing else in the fused loop writes: their
/// old elements are not saved at all. Each fused iteration writes such a
/// vector once, after the last read of the previous iteration's values, and
/// its reverse runs before the next iteration writes it again, so the
/// reverse reads exactly what the forward pass left there.
pub fn unsaved_scratch(
    f: &Function,
    fused: &Fused,
    sites: &[usize],
    exact: &HashSet<VarId>,
) -> HashMap<VarId, Vec<VarId>> {
    let mut out: HashMap<VarId, Vec<VarId>> = HashMap::new();
    for l in fused_loops(f, fused) {
        let mut inside = Vec::new();
        l.body.walk(&mut inside, 0);
        for s in &l.body.stmts {
            let Stmt::Loop(c) = s else { continue };
            for st in &c.body.stmts {
                let Stmt::Store(st) = st else { continue };
                let y = st.vec;
                let stores = inside
                    .iter()
                    .filter(|(s, _, _)| matches!(s, Stmt::Store(o) if o.vec == y))
                    .count();
                let found = out.get(&c.counter).is_some_and(|ys| ys.contains(&y));
                if !found
                    && stores == 1
                    && crate::plan::overwrites_whole(f, c, y, exact, false)
                    && killed_each_iteration(f, l, y, sites, exact)
                {
                    out.entry(c.counter).or_default().push(y);
                }
            }
        }
    }
    out
}

/// What a fused loop writes that outlives an iteration (declared outside
/// the loop's body): its reverse pops such a value back to the one before
/// the iteration, so the forward pass keeps the value across the reverse.
pub fn carried(f: &Function, decl_block: &[Option<usize>], l: &crate::ir::Loop) -> Vec<VarId> {
    let blocks = blocks_of(l);
    let mut out: Vec<VarId> = l
        .body
        .writes()
        .into_iter()
        .filter(|v| !decl_block[v.0].is_some_and(|b| blocks.contains(&b)))
        .filter(|v| f.vars[v.0].kind != Kind::Vector)
        .collect();
    out.sort();
    out
}

/// The ids of a loop's body and of every block nested in it.
pub fn blocks_of(l: &crate::ir::Loop) -> HashSet<usize> {
    let mut inside = Vec::new();
    l.body.walk(&mut inside, 0);
    let mut blocks: HashSet<usize> = inside.iter().map(|(_, b, _)| *b).collect();
    blocks.insert(l.body.id);
    for (s, _, _) in &inside {
        match s {
            Stmt::If(i) => blocks.extend([i.then_block.id, i.else_block.id]),
            Stmt::Loop(m) => {
                blocks.insert(m.body.id);
            }
            _ => {}
        }
    }
    blocks
}

/// Scalars whose adjoint is `±cotangent` everywhere (true: minus).
fn known_adjoints(f: &Function, act: &Activity) -> HashMap<VarId, bool> {
    let mut uses: HashMap<VarId, Vec<Option<&Instr>>> = HashMap::new();
    let mut defs: HashMap<VarId, Vec<&Instr>> = HashMap::new();
    for (s, _, _) in f.stmts() {
        match s {
            Stmt::Assign(ins) => {
                defs.entry(ins.dest).or_default().push(ins);
                for a in ins.args.iter().flat_map(Operand::reads) {
                    uses.entry(a).or_default().push(Some(ins));
                }
            }
            other => {
                let mut r = HashSet::new();
                reads_here(f, other, &mut r);
                for v in r {
                    uses.entry(v).or_default().push(None);
                }
            }
        }
    }
    if let Some(r) = f.ret.var() {
        uses.entry(r).or_default().push(None);
    }
    let is_add_sub = |ins: &Instr| {
        matches!(ins.op, Op::Prim(Prim::Add | Prim::Sub)) && matches!(ins.form, Form::Infix(_))
    };
    let is_copy_of = |ins: &Instr, w: VarId| {
        matches!(ins.form, Form::Copy) && matches!(ins.args[..], [Operand::Var(x)] if x == w)
    };
    // `w = a + t` (or `t + a`, `a - t`) whose only use is `a = w`.
    let self_acc = |a: VarId, ins: &Instr| {
        let w = ins.dest;
        let lhs = matches!(ins.args.first(), Some(Operand::Var(x)) if *x == a);
        let rhs = matches!(ins.args.get(1), Some(Operand::Var(x)) if *x == a);
        let sub = ins.op == Op::Prim(Prim::Sub);
        is_add_sub(ins)
            && (lhs != rhs)
            && (lhs || !sub)
            && defs.get(&w).is_some_and(|d| d.len() == 1)
            && uses.get(&w).is_some_and(|u| {
                u.len() == 1 && u[0].is_some_and(|c| c.dest == a && is_copy_of(c, w))
            })
    };
    // `a`'s uses other than `exit` are additions into itself, and it is
    // assigned only by its declaration and those additions' copies.
    let accumulates_only = |a: VarId, exit: Option<&Instr>| {
        if f.vars[a.0].kind != Kind::Scalar || !act.active(a) {
            return false;
        }
        let mut exits = 0;
        for u in uses.get(&a).into_iter().flatten() {
            match (u, exit) {
                (Some(u), Some(e)) if std::ptr::eq(*u, e) => exits += 1,
                (Some(u), _) if self_acc(a, u) => {}
                (None, None) if Some(a) == f.ret.var() => exits += 1,
                _ => return false,
            }
        }
        let ds = defs.get(&a).map_or(&[][..], |d| &d[..]);
        let copies_ok = ds.iter().skip(1).all(|d| {
            matches!(d.args[..], [Operand::Var(w)] if is_copy_of(d, w)
                && defs.get(&w).is_some_and(|wd| wd.len() == 1 && self_acc(a, wd[0])))
        });
        let first_is_decl = ds.first().is_none_or(|d| d.decl || f.vars[a.0].internal);
        exits == 1 && copies_ok && first_is_decl
    };
    let mut known = HashMap::new();
    let Some(r) = f.ret.var() else {
        return known;
    };
    if !accumulates_only(r, None) {
        return known;
    }
    known.insert(r, false);
    let mut work = vec![r];
    while let Some(v) = work.pop() {
        let neg = known[&v];
        // The value's own definition (not the accumulations' copies).
        let Some(d) = defs.get(&v).and_then(|d| d.first()) else {
            continue;
        };
        let operands: Vec<(VarId, bool)> = if is_add_sub(d) {
            d.args
                .iter()
                .enumerate()
                .filter_map(|(i, a)| {
                    let minus = i == 1 && d.op == Op::Prim(Prim::Sub);
                    a.var().map(|a| (a, neg ^ minus))
                })
                .collect()
        } else if let (Form::Copy, [Operand::Var(w)]) = (&d.form, &d.args[..]) {
            vec![(*w, neg)]
        } else if let (Op::Prim(Prim::Neg), [Operand::Var(w)]) = (d.op, &d.args[..]) {
            vec![(*w, !neg)]
        } else {
            Vec::new()
        };
        for (a, sign) in operands {
            if !known.contains_key(&a) && accumulates_only(a, Some(d)) {
                known.insert(a, sign);
                work.push(a);
            }
        }
    }
    known
}

/// Whether every read of vector `y` in loop `l` comes after a loop that
/// overwrote all of `y` in the same iteration (see [`covers`]), so no value
/// of `y` flows from one iteration to the next or from before the loop.
fn killed_each_iteration(
    f: &Function,
    l: &crate::ir::Loop,
    y: VarId,
    sites: &[usize],
    exact: &HashSet<VarId>,
) -> bool {
    // `let mut y = vec![c; n];`, never assigned again.
    let Some(len) = f.instrs().into_iter().find_map(|i| {
        (i.dest == y && i.op == Op::VecFill && matches!(i.form, Form::VecFill { array: false }))
            .then(|| i.args[1].clone())
    }) else {
        return false;
    };
    if sites[y.0] != 1 || len.var().is_some_and(|n| sites[n.0] > 1) {
        return false;
    }
    fn block_ok(
        f: &Function,
        b: &crate::ir::Block,
        y: VarId,
        len: &Operand,
        exact: &HashSet<VarId>,
    ) -> bool {
        for s in &b.stmts {
            if covers(f, s, y, len, exact) {
                return true;
            }
            let mut here = HashSet::new();
            reads_here(f, s, &mut here);
            let stored = matches!(s, Stmt::Store(st) if st.vec == y);
            if here.contains(&y) || stored {
                return false;
            }
            let nested_ok = match s {
                Stmt::If(i) => {
                    block_ok(f, &i.then_block, y, len, exact)
                        && block_ok(f, &i.else_block, y, len, exact)
                }
                Stmt::Loop(m) => block_ok(f, &m.body, y, len, exact),
                _ => true,
            };
            if !nested_ok {
                return false;
            }
        }
        true
    }
    block_ok(f, &l.body, y, &len, exact)
}

/// `for i in 0..len { ...; y[i] = v; ... }` running its whole range, where
/// the body mentions `y` otherwise only to read or write `y[i]` after the
/// write.
fn covers(f: &Function, s: &Stmt, y: VarId, len: &Operand, exact: &HashSet<VarId>) -> bool {
    let Stmt::Loop(l) = s else { return false };
    let LoopHead::For {
        iter:
            IterSpec::Range {
                start,
                end,
                inclusive: false,
                ..
            },
        ..
    } = &l.head
    else {
        return false;
    };
    let zero = matches!(start, Operand::Const(c) if c.int == Some(0));
    zero && same(end, len) && crate::plan::overwrites_whole(f, l, y, exact, true)
}

/// The same variable, or constants written the same.
pub fn same(a: &Operand, b: &Operand) -> bool {
    match (a, b) {
        (Operand::Var(x), Operand::Var(y)) => x == y,
        (Operand::Const(x), Operand::Const(y)) => x.tokens.to_string() == y.tokens.to_string(),
        _ => false,
    }
}

/// The variables a statement reads itself (its operands, a loop's bounds),
/// not those read by the statements nested in it.
pub fn reads_here(f: &Function, s: &Stmt, out: &mut HashSet<VarId>) {
    match s {
        Stmt::Assign(ins) => out.extend(ins.args.iter().flat_map(Operand::reads)),
        Stmt::Store(st) => {
            out.extend(st.index.var());
            out.extend(st.value.var());
            if st.mode != StoreMode::Set {
                out.insert(st.vec);
            }
        }
        Stmt::If(i) => out.extend(i.cond.var()),
        Stmt::Loop(l) => match &l.head {
            LoopHead::For {
                iter: IterSpec::Range {
                    start, end, step, ..
                },
                ..
            } => {
                out.extend(start.var());
                out.extend(end.var());
                out.extend(step.as_ref().and_then(Operand::var));
            }
            LoopHead::For {
                iter: IterSpec::Tokens(t),
                ..
            } => {
                let mut names = HashSet::new();
                crate::reverse::idents_in(t, &mut names);
                out.extend(
                    (0..f.vars.len())
                        .map(VarId)
                        .filter(|v| names.contains(&f.vars[v.0].ident.to_string())),
                );
            }
            LoopHead::Infinite => {}
        },
        Stmt::BreakIf(v) => {
            out.insert(*v);
        }
        Stmt::Item(_) => {}
    }
}

/// The variables a statement and the statements nested in it read.
pub fn reads(f: &Function, s: &Stmt, out: &mut HashSet<VarId>) {
    reads_here(f, s, out);
    let mut nested = Vec::new();
    match s {
        Stmt::If(i) => {
            i.then_block.walk(&mut nested, 0);
            i.else_block.walk(&mut nested, 0);
        }
        Stmt::Loop(l) => l.body.walk(&mut nested, 0),
        _ => {}
    }
    for (s, _, _) in nested {
        reads_here(f, s, out);
    }
}
