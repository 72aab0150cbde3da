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
use crate::ir::{
    Form, Function, Instr, IterSpec, Kind, LoopHead, Op, Operand, Stmt, StoreMode, VarId,
};
use crate::rules::Prim;
use proc_macro2::TokenStream;
use std::collections::HashMap;
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
    /// Regenerated loops that always run their whole range: the backward
    /// pass takes their trip count from the range, so none is counted.
    pub exact: HashSet<VarId>,
    /// Values a loop body computes cheaply from its index, loop-invariant
    /// values and each other, by body block, in order: the sweep recomputes
    /// the ones it reads at the start of each reverse iteration instead of
    /// taping them.
    pub remat_in_block: HashMap<usize, Vec<Instr>>,
    /// Those of them the sweep reads (set with `needed`).
    pub remat: HashSet<VarId>,
    /// Variables each loop's reverse reads (by loop counter).
    pub loop_reads: HashMap<VarId, HashSet<VarId>>,
    /// Variables saved once around a loop rather than at each assignment
    /// inside it: nothing in the loop's reverse reads them, so only the
    /// value before the loop matters (an accumulator `s += ...`).
    pub around: HashMap<VarId, Vec<VarId>>,
    /// Variables pushed somewhere (each gets a tape).
    pub pushed: HashSet<VarId>,
    /// Vectors whose elements are pushed before element writes.
    pub elem_pushed: HashSet<VarId>,
    /// Per loop (by counter), the vectors it overwrites `y[i] = ...` at its
    /// own index over its whole range and does not otherwise touch: their
    /// old elements are saved as one slice before the loop and put back
    /// after its reverse, not pushed and popped one by one.
    pub bulk: HashMap<VarId, Vec<VarId>>,
    /// Top-level loops whose reverse runs at the end of each forward
    /// iteration, with their accumulators ([`crate::fuse`]).
    pub fused: crate::fuse::Fused,
    /// Per loop (by counter), the vectors whose element writes in it save
    /// nothing: scratch vectors of fused loops
    /// ([`crate::fuse::unsaved_scratch`]) and vectors the loop overwrites
    /// whole right after their declaration ([`fresh_overwrites`]).
    pub unsaved: HashMap<VarId, Vec<VarId>>,
    /// Calls that take the callee's gradient with its value
    /// ([`crate::split`]), by destination.
    pub split: HashSet<VarId>,
    /// Integer updates `v = w` right after `w = v + c` (or `- c`), by
    /// `(v, w)`: undone exactly in reverse (`v = v - c`) instead of taped.
    pub invertible: HashMap<(VarId, VarId), TokenStream>,
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
                let local = matches!(var.kind, Kind::Scalar | Kind::Tensor)
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
        let mut exact = HashSet::new();
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
                        // No `break` (or `return`) ends it early: it runs as
                        // many times as its range is long.
                        let exits = inside
                            .iter()
                            .any(|(s, _, depth)| *depth == 0 && matches!(s, Stmt::BreakIf(_)));
                        if !exits {
                            exact.insert(l.counter);
                        }
                    }
                }
            }
        }
        let remat_in_block = remat_candidates(f, &sites, &stored);
        let fused = crate::fuse::fusable(f, act, &decl_block, &sites, &exact);
        let split = crate::split::split_calls(f, act, &fused, &sites);
        let mut unsaved = crate::fuse::unsaved_scratch(f, &fused, &sites, &exact);
        // What nothing reads needs no whole-slice save either.
        let mut bulk = bulk_stores(f, &exact);
        for (c, ys) in fresh_overwrites(&f.body, &bulk) {
            unsaved.entry(c).or_default().extend(ys);
        }
        for (c, ys) in &unsaved {
            if let Some(b) = bulk.get_mut(c) {
                b.retain(|y| !ys.contains(y));
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
            exact,
            remat_in_block,
            remat: HashSet::new(),
            loop_reads: HashMap::new(),
            around: HashMap::new(),
            pushed: HashSet::new(),
            elem_pushed: HashSet::new(),
            bulk,
            fused,
            unsaved,
            split,
            invertible: invertible_updates(f),
        }
    }

    /// Settles what the backward pass reads: `read` (by its rules), plus
    /// what recomputing the values it reads needs.
    pub fn set_needed(&mut self, read: HashSet<VarId>) {
        let candidates: HashMap<VarId, &Instr> = self
            .remat_in_block
            .values()
            .flatten()
            .map(|i| (i.dest, i))
            .collect();
        let mut needed = read;
        let mut remat = HashSet::new();
        let mut work: Vec<VarId> = needed
            .iter()
            .copied()
            .filter(|v| candidates.contains_key(v))
            .collect();
        while let Some(v) = work.pop() {
            if !remat.insert(v) {
                continue;
            }
            for a in candidates[&v].args.iter().flat_map(Operand::reads) {
                needed.insert(a);
                if candidates.contains_key(&a) && !remat.contains(&a) {
                    work.push(a);
                }
            }
        }
        self.needed = needed;
        self.remat = remat;
    }

    /// The loop that saves `v` once instead of a push at an assignment
    /// inside the loops `chain` (outermost first): the outermost whose
    /// reverse never reads `v`.
    pub fn around_loop(&self, v: VarId, chain: &[VarId]) -> Option<VarId> {
        chain
            .iter()
            .find(|l| !self.loop_reads.get(l).is_some_and(|r| r.contains(&v)))
            .copied()
    }

    /// After `needed`: what each loop's reverse reads (`reads`, from the
    /// first run, plus what recomputing values reads) and which variables
    /// are saved around which loop.
    pub fn settle_loops(
        &mut self,
        f: &Function,
        act: &Activity,
        mut reads: HashMap<VarId, HashSet<VarId>>,
        top_reads: &HashMap<usize, Vec<HashSet<String>>>,
    ) {
        // A recomputed value's arguments are read in its loop and every
        // loop around it.
        let mut chains: HashMap<usize, Vec<VarId>> = HashMap::new();
        collect_chains(&f.body, &mut Vec::new(), &mut chains);
        for (block, instrs) in &self.remat_in_block {
            for ins in instrs.iter().filter(|i| self.remat.contains(&i.dest)) {
                for l in chains.get(block).into_iter().flatten() {
                    reads
                        .entry(*l)
                        .or_default()
                        .extend(ins.args.iter().flat_map(Operand::reads));
                }
            }
        }
        self.loop_reads = reads;
        let mut around: HashMap<VarId, Vec<VarId>> = HashMap::new();
        let mut sites = Vec::new();
        assign_sites(&f.body, &mut Vec::new(), &mut sites);
        // Loops directly in the function's body or a fused loop's, by
        // counter: that block, and the loop's place in it.
        let mut top_pos: HashMap<VarId, (usize, usize)> = HashMap::new();
        let bodies = crate::fuse::fused_loops(f, &self.fused).map(|l| &l.body);
        for b in std::iter::once(&f.body).chain(bodies) {
            for (i, s) in b.stmts.iter().enumerate() {
                if let Stmt::Loop(l) = s {
                    top_pos.insert(l.counter, (b.id, i));
                }
            }
        }
        let mut pushed = HashSet::new();
        let mut elem_pushed = HashSet::new();
        for (v, decl, chain, elem_site, src) in sites {
            let in_place = decl && !self.hoisted(f, act, v);
            if !self.taped(v)
                || in_place
                || self.fresh_let(decl, &chain)
                || src.is_some_and(|w| self.invertible.contains_key(&(v, w)))
            {
                continue;
            }
            if elem_site {
                // An element write: its old element is pushed (or saved
                // with its slice), unless nothing reads it.
                if !self.unsaved_at(chain.last(), v) {
                    elem_pushed.insert(v);
                }
                continue;
            }
            let Some(l) = self.around_loop(v, &chain) else {
                pushed.insert(v);
                continue;
            };
            {
                // A loop directly in the function's body (or a fused
                // loop's) need not save what no earlier statement's reverse
                // there reads: nothing reads it after (a fused iteration
                // keeps what outlives it across its reverse).
                if let Some(&(b, pos)) = top_pos.get(&l) {
                    let name = f.vars[v.0].ident.to_string();
                    let reads = top_reads.get(&b).map_or(&[][..], Vec::as_slice);
                    if !reads.iter().take(pos).any(|r| r.contains(&name)) {
                        continue;
                    }
                }
                let list = around.entry(l).or_default();
                if !list.contains(&v) {
                    list.push(v);
                }
                pushed.insert(v);
            }
        }
        self.around = around;
        self.pushed = pushed;
        self.elem_pushed = elem_pushed;
    }

    /// Declared at the top of the function rather than at its `let`.
    pub fn hoisted(&self, f: &Function, act: &Activity, v: VarId) -> bool {
        let var = &f.vars[v.0];
        if var.internal {
            return true;
        }
        if self.remat.contains(&v) {
            return false;
        }
        let in_region = self.decl_block[v.0].is_some_and(|b| b != 0);
        // Vector and tensor adjoints are declared up front from the value's
        // shape, so the value must outlive its region.
        let shaped = matches!(var.kind, Kind::Vector | Kind::Tensor)
            && act.active(v)
            && self.cat[v.0] == AdjCat::Upfront;
        in_region && (self.needed.contains(&v) || shaped)
    }

    /// Whether the element write to `y` directly in the loop `innermost`
    /// saves the old element by itself: not when a whole-slice save covers
    /// it, nor when nothing reads the old element.
    pub fn saves_element(&self, innermost: Option<&VarId>, y: VarId) -> bool {
        !self.unsaved_at(innermost, y) && !self.saved_whole(innermost, y)
    }

    /// Whether nothing reads the old elements that the element write to `y`
    /// directly in the loop `innermost` overwrites.
    fn unsaved_at(&self, innermost: Option<&VarId>, y: VarId) -> bool {
        innermost.is_some_and(|l| self.unsaved.get(l).is_some_and(|ys| ys.contains(&y)))
    }

    /// Whether the element write to `y` directly in the loop `innermost`
    /// (the innermost loop around it) is covered by a whole-slice save.
    pub fn saved_whole(&self, innermost: Option<&VarId>, y: VarId) -> bool {
        innermost.is_some_and(|l| self.bulk.get(l).is_some_and(|ys| ys.contains(&y)))
    }

    /// Whether the `let` of a variable, inside the loops `chain`, keeps no
    /// old value: outside every loop (a `let` in a branch, hoisted so the
    /// reverse sees it) it runs at most once and the value before it is the
    /// hoisted default, which nothing reads; in a fused loop's body (outside
    /// loops nested in it) the value before the `let` is the previous
    /// iteration's, which nothing reads once this iteration's reverse has
    /// run.
    pub fn fresh_let(&self, decl: bool, chain: &[VarId]) -> bool {
        decl && match chain {
            [] => true,
            [l] => self.fused.contains_key(l),
            _ => false,
        }
    }

    /// Has a tape: needed by the backward pass and overwritten.
    pub fn taped(&self, v: VarId) -> bool {
        self.needed.contains(&v)
            && !self.remat.contains(&v)
            && (self.reassigned[v.0] || self.stored[v.0])
    }
}

/// [`Plan::bulk`]: in each loop that runs its whole (unit-step) range, the
/// vectors written `y[i] = v` by a top-level statement of the body, `i`
/// the loop variable, that nothing else in the body mentions but reads of
/// `y[i]` after the write. Such a loop overwrites exactly `y[range]`, once
/// per element, and its reverse reads `y` only where the forward read the
/// iteration's own new element, which stays in place until the loop's
/// reverse is done: the old slice can come back in one copy after it.
fn bulk_stores(f: &Function, exact: &HashSet<VarId>) -> HashMap<VarId, Vec<VarId>> {
    let mut out = HashMap::new();
    for (s, _, _) in f.stmts() {
        let Stmt::Loop(l) = s else { continue };
        let mut found = Vec::new();
        for st in &l.body.stmts {
            let Stmt::Store(st) = st else { continue };
            if !found.contains(&st.vec) && overwrites_whole(f, l, st.vec, exact, false) {
                found.push(st.vec);
            }
        }
        if !found.is_empty() {
            out.insert(l.counter, found);
        }
    }
    out
}

/// Per loop, the vectors of [`Plan::bulk`] declared before it in the same
/// block with no statement in between naming them (`let mut y = [0.0; 3];
/// for i in 0..3 { y[i] = ... }`): the elements the loop overwrites are the
/// declaration's, which no reverse statement reads (the statements before
/// the declaration cannot name `y`; a declaration repeated in a loop saves
/// the previous value itself), so they need no save.
fn fresh_overwrites(
    b: &crate::ir::Block,
    bulk: &HashMap<VarId, Vec<VarId>>,
) -> HashMap<VarId, Vec<VarId>> {
    let mut out: HashMap<VarId, Vec<VarId>> = HashMap::new();
    for (pos, s) in b.stmts.iter().enumerate() {
        match s {
            Stmt::If(i) => {
                out.extend(fresh_overwrites(&i.then_block, bulk));
                out.extend(fresh_overwrites(&i.else_block, bulk));
            }
            Stmt::Loop(l) => {
                out.extend(fresh_overwrites(&l.body, bulk));
                for &y in bulk.get(&l.counter).into_iter().flatten() {
                    let declared = b.stmts[..pos].iter().rev().find_map(|s| {
                        let (reads, writes) = stmt_effects(s);
                        match s {
                            Stmt::Assign(ins) if ins.dest == y => {
                                Some(ins.decl && !reads.contains(&y))
                            }
                            _ if reads.contains(&y) || writes.contains(&y) => Some(false),
                            _ => None,
                        }
                    });
                    if declared == Some(true) {
                        out.entry(l.counter).or_default().push(y);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Whether loop `l` runs its whole unit-step range (`exact`) and writes
/// `y[i] = v` at its own index `i` by a top-level statement of its body,
/// naming `y` otherwise only to read `y[i]` after that write, or, with
/// `rewrites`, to write `y[i]` again: each iteration overwrites its own
/// element before anything reads it, so the loop overwrites exactly
/// `y[range]`. (Loops that [`crate::merge`] ran as one write an element
/// once per step of the formula.)
pub fn overwrites_whole(
    f: &Function,
    l: &crate::ir::Loop,
    y: VarId,
    exact: &HashSet<VarId>,
    rewrites: bool,
) -> bool {
    let LoopHead::For {
        var: Some(i),
        iter: IterSpec::Range { step: None, .. },
    } = &l.head
    else {
        return false;
    };
    if !exact.contains(&l.counter) {
        return false;
    }
    let mut written = false;
    for s in &l.body.stmts {
        match s {
            Stmt::Store(st) if st.vec == y => {
                let own = matches!(st.index, Operand::Var(x) if x == *i);
                let first = !written && st.mode == StoreMode::Set;
                if !own || !(first || written && rewrites) || st.value.var() == Some(y) {
                    return false;
                }
                written = true;
            }
            Stmt::Assign(ins) if ins.args.iter().any(|a| a.var() == Some(y)) => {
                let own_read = ins.op == Op::Index
                    && matches!(ins.args[..], [Operand::Var(v), Operand::Var(x)] if v == y && x == *i);
                if !written || !own_read || ins.dest == y {
                    return false;
                }
            }
            Stmt::Assign(ins) if ins.dest == y => return false,
            Stmt::Assign(_) | Stmt::Item(_) => {}
            other => {
                let mut touched = HashSet::new();
                other.writes(&mut touched);
                crate::fuse::reads(f, other, &mut touched);
                if touched.contains(&y) {
                    return false;
                }
            }
        }
    }
    written
}

/// Cheap enough to recompute rather than tape: one arithmetic operation, a
/// cast, an element read.
fn cheap(ins: &Instr) -> bool {
    match ins.op {
        Op::Index => true,
        Op::Prim(p) => matches!(
            p,
            Prim::Add
                | Prim::Sub
                | Prim::Mul
                | Prim::Div
                | Prim::Neg
                | Prim::Copy
                | Prim::CastFloat
        ),
        Op::NonDiff => matches!(
            ins.form,
            Form::Infix(_) | Form::Prefix(_) | Form::Cast(_) | Form::Copy | Form::ViewIndex
        ),
        _ => false,
    }
}

/// For each loop body, the values that can be recomputed in its reverse:
/// defined once, directly in the body (so every iteration computes them),
/// by a cheap operation whose arguments are the loop index, values not
/// written inside the loop, or earlier such values.
fn remat_candidates(f: &Function, sites: &[usize], stored: &[bool]) -> HashMap<usize, Vec<Instr>> {
    // The deepest loop level at which each vector is element-written.
    let mut store_depth: HashMap<VarId, usize> = HashMap::new();
    for (s, _, depth) in f.stmts() {
        if let Stmt::Store(st) = s {
            let d = store_depth.entry(st.vec).or_default();
            *d = (*d).max(depth);
        }
    }
    let mut out = HashMap::new();
    for (s, _, loop_depth) in f.stmts() {
        let Stmt::Loop(l) = s else { continue };
        let body_depth = loop_depth + 1;
        let written = l.body.writes();
        let index = match &l.head {
            LoopHead::For { var, .. } => *var,
            LoopHead::Infinite => None,
        };
        let mut found: Vec<Instr> = Vec::new();
        // Values defined once, directly in this body, before here: at the
        // start of a reverse iteration they hold that iteration's value
        // (recomputed, or popped back by the iteration after it).
        let mut earlier: HashSet<VarId> = HashSet::new();
        // What each top-level statement of the body reads and writes,
        // nested statements included.
        let effects: Vec<(HashSet<VarId>, HashSet<VarId>)> =
            l.body.stmts.iter().map(stmt_effects).collect();
        // The value is recomputed just before the backward pass first reads
        // it, i.e. in the reverse of its last use, or earlier to recompute
        // a value computed from it: by then the reverse has undone every
        // write after that point. So an argument written in the loop is
        // fine if no write falls between the definition and that point
        // (`t = l[li]; .. t ..; li += 1`). `last_use`: that point, counting
        // every later value that may be recomputed from this one.
        let once = |ins: &Instr| {
            ins.decl
                && sites[ins.dest.0] == 1
                && !stored[ins.dest.0]
                && !f.vars[ins.dest.0].internal
        };
        let stmts = &l.body.stmts;
        let mut last_use: HashMap<VarId, usize> = HashMap::new();
        for (pos, s) in stmts.iter().enumerate().rev() {
            let Stmt::Assign(ins) = s else { continue };
            let mut last = (pos + 1..effects.len())
                .rev()
                .find(|q| effects[*q].0.contains(&ins.dest))
                .unwrap_or(pos);
            for later in &stmts[pos + 1..] {
                if let Stmt::Assign(r) = later {
                    let reads = r
                        .args
                        .iter()
                        .flat_map(Operand::reads)
                        .any(|a| a == ins.dest);
                    if reads && once(r) && cheap(r) {
                        last = last.max(last_use[&r.dest]);
                    }
                }
            }
            last_use.insert(ins.dest, last);
        }
        for (pos, s) in stmts.iter().enumerate() {
            let Stmt::Assign(ins) = s else { continue };
            let last_use = last_use[&ins.dest];
            let unchanged_until_used =
                |a: VarId| (pos + 1..=last_use).all(|q| !effects[q].1.contains(&a));
            let once = once(ins);
            // A value of constants alone, unannotated, would have no type
            // to infer from in the reverse sweep (`let c = 1.0;`).
            let typed =
                f.vars[ins.dest.0].ty.is_some() || ins.args.iter().any(|a| a.var().is_some());
            // Vectors and tensors are neither cheap to copy nor scoped like scalars
            // (their adjoints are declared up front).
            // Re-reading an element of a vector written elsewhere needs every
            // write to it taped: worth it unless the writes run in a deeper
            // loop than this read (then tape the value read instead).
            let reads_written_vector = ins.op == Op::Index
                && ins.args[0].var().is_some_and(|v| {
                    stored[v.0] && store_depth.get(&v).is_some_and(|d| *d > body_depth)
                });
            let ok = once
                && typed
                && !reads_written_vector
                && matches!(f.vars[ins.dest.0].kind, Kind::Scalar | Kind::Other)
                && cheap(ins)
                && ins.args.iter().flat_map(Operand::reads).all(|a| {
                    Some(a) == index
                        || !written.contains(&a)
                        || earlier.contains(&a)
                        || unchanged_until_used(a)
                });
            if ok {
                found.push(ins.clone());
            }
            if once {
                earlier.insert(ins.dest);
            }
        }
        if !found.is_empty() {
            out.insert(l.body.id, found);
        }
    }
    out
}

/// The variables a statement reads and writes, nested statements included.
fn stmt_effects(s: &Stmt) -> (HashSet<VarId>, HashSet<VarId>) {
    let mut stmts = Vec::new();
    match s {
        Stmt::If(i) => {
            i.then_block.walk(&mut stmts, 0);
            i.else_block.walk(&mut stmts, 0);
        }
        Stmt::Loop(l) => l.body.walk(&mut stmts, 0),
        _ => {}
    }
    let mut reads = HashSet::new();
    for s in std::iter::once(s).chain(stmts.into_iter().map(|(s, _, _)| s)) {
        match s {
            Stmt::Assign(ins) => reads.extend(ins.args.iter().flat_map(Operand::reads)),
            Stmt::Store(st) => {
                reads.insert(st.vec);
                reads.extend(st.index.var());
                reads.extend(st.value.var());
            }
            Stmt::If(i) => reads.extend(i.cond.var()),
            Stmt::Loop(l) => {
                if let LoopHead::For {
                    iter:
                        IterSpec::Range {
                            start, end, step, ..
                        },
                    ..
                } = &l.head
                {
                    reads.extend(start.var());
                    reads.extend(end.var());
                    reads.extend(step.as_ref().and_then(Operand::var));
                }
            }
            Stmt::BreakIf(v) => {
                reads.insert(*v);
            }
            Stmt::Item(_) => {}
        }
    }
    let mut writes = HashSet::new();
    s.writes(&mut writes);
    (reads, writes)
}

/// For each block, the counters of the loops around it (outermost first).
fn collect_chains(
    b: &crate::ir::Block,
    chain: &mut Vec<VarId>,
    out: &mut HashMap<usize, Vec<VarId>>,
) {
    out.insert(b.id, chain.clone());
    for s in &b.stmts {
        match s {
            Stmt::If(i) => {
                collect_chains(&i.then_block, chain, out);
                collect_chains(&i.else_block, chain, out);
            }
            Stmt::Loop(l) => {
                chain.push(l.counter);
                collect_chains(&l.body, chain, out);
                chain.pop();
            }
            _ => {}
        }
    }
}

/// An assignment: the variable, whether it is the user's `let`, the loops
/// around it, and whether it is an element write (which pushes an element,
/// not the value).
type Site = (VarId, bool, Vec<VarId>, bool, Option<VarId>);

/// Every assignment.
fn assign_sites(b: &crate::ir::Block, chain: &mut Vec<VarId>, out: &mut Vec<Site>) {
    for s in &b.stmts {
        match s {
            Stmt::Assign(i) => {
                let src = match (&i.form, &i.args[..]) {
                    (Form::Copy, [Operand::Var(w)]) => Some(*w),
                    _ => None,
                };
                out.push((i.dest, i.decl, chain.clone(), false, src));
            }
            // Element writes push per write, whatever loop they are in.
            Stmt::Store(st) => out.push((st.vec, false, chain.clone(), true, None)),
            Stmt::If(i) => {
                assign_sites(&i.then_block, chain, out);
                assign_sites(&i.else_block, chain, out);
            }
            Stmt::Loop(l) => {
                out.push((l.counter, false, chain.clone(), false, None));
                chain.push(l.counter);
                assign_sites(&l.body, chain, out);
                chain.pop();
            }
            _ => {}
        }
    }
}

/// Integer counters updated in place (`i += 1` lowers to `i_1 = i + 1;
/// i = i_1;`): the old value is recovered exactly by the inverse operation,
/// so the reverse sweep needs no tape for it.
fn invertible_updates(f: &Function) -> HashMap<(VarId, VarId), TokenStream> {
    let mut out = HashMap::new();
    let mut blocks = vec![&f.body];
    while let Some(b) = blocks.pop() {
        for pair in b.stmts.windows(2) {
            let (Stmt::Assign(def), Stmt::Assign(copy)) = (&pair[0], &pair[1]) else {
                continue;
            };
            let v = copy.dest;
            let inverse = match def.op {
                Op::Prim(Prim::Add) => quote::quote!(-),
                Op::Prim(Prim::Sub) => quote::quote!(+),
                _ => continue,
            };
            let is_update = matches!(copy.form, Form::Copy)
                && matches!(copy.args[..], [Operand::Var(w)] if w == def.dest)
                && matches!(def.form, Form::Infix(_))
                && matches!(&def.args[..], [Operand::Var(a), Operand::Const(c)] if *a == v && c.int.is_some())
                && f.vars[v.0].kind == Kind::Other;
            if is_update {
                let Operand::Const(c) = &def.args[1] else {
                    continue;
                };
                let x = &f.vars[v.0].ident;
                let c = &c.tokens;
                out.insert((v, def.dest), quote::quote!(#x = #x #inverse #c;));
            }
        }
        for s in &b.stmts {
            match s {
                Stmt::If(i) => {
                    blocks.push(&i.then_block);
                    blocks.push(&i.else_block);
                }
                Stmt::Loop(l) => blocks.push(&l.body),
                _ => {}
            }
        }
    }
    out
}
