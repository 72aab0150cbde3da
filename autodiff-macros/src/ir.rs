//! The intermediate representation: SSA-named values in structured regions.
//!
//! Plain data, so unit tests can build and inspect it without a compiler.
//! Straight-line code is pure SSA: every variable is assigned once, each
//! instruction applies one operation, and the backward pass reads forward
//! values directly. Branches ([`If`]) and loops ([`Loop`]) are regions; a
//! variable written from inside a region that the user declared outside it
//! (a loop-carried accumulator, a branch result) is a mutable location with
//! several assignment sites. `break`, `continue` and early `return` are
//! lowered to flags and guarded blocks, so every region is single-entry,
//! single-exit and the reverse sweep mirrors it exactly.

use crate::rules::Prim;
use proc_macro2::{Ident, TokenStream};
use std::collections::HashSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarId(pub usize);

/// What a value is, as far as differentiation cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An `f32`/`f64` value (or a value of unknown type: arithmetic results).
    Scalar,
    /// A slice, array or `Vec` of floats: its adjoint is a vector.
    Vector,
    /// Integers, booleans, iterators: never differentiated.
    Other,
    /// A runtime `Tensor` (or `&Tensor`): its adjoint is an owned tensor.
    Tensor,
}

#[derive(Clone, Debug)]
pub struct Var {
    /// The name it is emitted under: the user's own token for the first
    /// binding of a name, a fresh name for later versions and temporaries.
    pub ident: Ident,
    /// The user's type annotation, kept so `let c: f32 = 2.0;` stays typed.
    pub ty: Option<syn::Type>,
    pub kind: Kind,
    /// Created by the lowering with no `let` of the user's (a branch's
    /// value, a loop flag, the early-return value): declared up front.
    pub internal: bool,
    /// A temporary for a subexpression (`t3`), no name of the user's.
    pub temp: bool,
    /// May own its storage (a `Vec`): a differentiated call gets a clone
    /// ([`crate::owned`]).
    pub owned: bool,
    /// The variable whose value gives this one's adjoint its shape, where
    /// this one's may be gone by then: a call's copy of the vector it
    /// writes, moved into that vector ([`crate::output`]), has the shape of
    /// the vector it was copied from.
    pub shape: Option<VarId>,
}

/// An instruction argument.
#[derive(Clone, Debug)]
pub enum Operand {
    Var(VarId),
    /// `&x` of a vector variable, as passed to a call.
    Ref(VarId),
    /// `&x[a..b]` (`a..=b`, `a..`, `..b`, `..`) of a vector variable, as
    /// passed to a call: the callee's gradient lands in that part of `x`'s.
    Slice(VarId, Box<Bounds>),
    /// A constant expression without variables: a literal, a path
    /// (`PI`, `f64::EPSILON`), or operators over those.
    Const(Constant),
}

/// The bounds of a sub-slice: integer operands, either may be left out.
#[derive(Clone, Debug)]
pub struct Bounds {
    pub start: Option<Operand>,
    pub end: Option<Operand>,
    pub inclusive: bool,
}

impl Operand {
    /// The variable the operand stands for (a sub-slice's vector).
    pub fn var(&self) -> Option<VarId> {
        match self {
            Operand::Var(v) | Operand::Ref(v) | Operand::Slice(v, _) => Some(*v),
            Operand::Const(_) => None,
        }
    }

    /// Every variable evaluating the operand reads: [`Operand::var`], and a
    /// sub-slice's bounds.
    pub fn reads(&self) -> impl Iterator<Item = VarId> + '_ {
        let bounds = match self {
            Operand::Slice(_, b) => [b.start.as_ref(), b.end.as_ref()],
            _ => [None, None],
        };
        self.var()
            .into_iter()
            .chain(bounds.into_iter().flatten().filter_map(Operand::var))
    }
}

#[derive(Clone, Debug)]
pub struct Constant {
    pub tokens: TokenStream,
    /// Whether the tokens can stand as an operand or method receiver without
    /// parentheses.
    pub atomic: bool,
    /// The value, when the constant is an integer literal (`powi(2)`).
    pub int: Option<i64>,
}

/// How an instruction is written in the forward code: the user's own form,
/// so the forward value is bit-for-bit what the original function computes.
#[derive(Clone, Debug)]
pub enum Form {
    /// `a <op> b`
    Infix(TokenStream),
    /// `<op> a`
    Prefix(TokenStream),
    /// `a.method::<T>(b, ...)`
    Method {
        name: Ident,
        turbofish: Option<TokenStream>,
    },
    /// `path(a, ...)`
    Call(TokenStream),
    /// `path(a, ..., &mut v, ...)`: a call writing into the vector argument
    /// `out` ([`crate::output`]). The instruction's value is `v` afterwards:
    /// the call runs on a copy of `v` (the old value stays for the reverse,
    /// which pulls the new value's adjoint back through the callee's
    /// `_autodiff_out` functions), and the caller assigns the copy to `v`.
    OutCall { path: TokenStream, out: usize },
    /// `a as T`
    Cast(Box<syn::Type>),
    /// `a`
    Copy,
    /// `a[b]`
    Index,
    /// `a..b` / `a..=b` (either end may be absent: `Const` empty tokens)
    Range { inclusive: bool },
    /// `vec![a; b]`, or `[a; b]` when `array`.
    VecFill { array: bool },
    /// `[a, b, c]`, or `vec![a, b, c]` when `vec`.
    List { vec: bool },
    /// `a.iter().sum::<T>()`
    IterSum { turbofish: Option<TokenStream> },
    /// A runtime tensor function, called with its tensors borrowed
    /// ([`crate::tensor_rules::forward`]).
    Tensor,
    /// `__rt::view_index(start, i, len)`: where element `i` of a sub-slice
    /// binding lies in its vector ([`crate::lower`]'s views). A form of its
    /// own so the passes can treat it as the arithmetic it is: recomputed
    /// rather than taped, read once per block, checked once per loop.
    ViewIndex,
}

/// What is known of an operation's derivative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// A primitive with a rule in [`crate::rules`].
    Prim(Prim),
    /// Piecewise constant or non-float (comparisons, `floor`, integer
    /// casts): derivative zero, the result is never active.
    NonDiff,
    /// No rule known (an unknown method). Fine on constants; an error when
    /// an active value flows through it.
    Opaque,
    /// `x[i]`: the adjoint goes to element `i` of the vector's adjoint.
    Index,
    /// A call of a function differentiated through its generated `_vjp`.
    Call,
    /// `vec![v; n]`: every element's adjoint flows back to `v`.
    VecFill,
    /// `[a, b, c]`: element `i`'s adjoint flows back to argument `i`.
    List,
    /// `x.iter().sum()`: every element's adjoint gets the sum's.
    Sum,
    /// A tensor operation with a rule in [`crate::tensor_rules`].
    Tensor(crate::tensor_rules::TensorOp),
}

#[derive(Clone, Debug)]
pub struct Instr {
    pub dest: VarId,
    pub op: Op,
    pub form: Form,
    pub args: Vec<Operand>,
    /// The source expression, for error messages (empty where no error
    /// can arise).
    pub origin: TokenStream,
    /// What the operation is, in words, for error messages.
    pub what: String,
    /// The user's `let` of `dest` (its first binding): emitted as `let`.
    pub decl: bool,
}

/// How an element write combines with the old element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreMode {
    Set,
    Add,
    Sub,
}

/// `vec[index] = value`, `+=`, `-=`.
#[derive(Clone, Debug)]
pub struct Store {
    pub vec: VarId,
    pub index: Operand,
    pub value: Operand,
    pub mode: StoreMode,
}

#[derive(Clone, Debug)]
pub struct If {
    pub cond: Operand,
    pub then_block: Block,
    pub else_block: Block,
}

/// What a `for` loop iterates over.
#[derive(Clone, Debug)]
pub enum IterSpec {
    /// `start..end`, `start..=end`, `(..).rev()`, `(..).step_by(step)`: the
    /// reverse sweep regenerates the indices, so none is taped.
    Range {
        start: Operand,
        end: Operand,
        inclusive: bool,
        rev: bool,
        step: Option<Operand>,
    },
    /// Any other (constant) iterator, written as the user wrote it with
    /// variables renamed; the loop variable is taped if the sweep reads it.
    Tokens(TokenStream),
}

#[derive(Clone, Debug)]
pub enum LoopHead {
    /// `for var in iter`; the loop variable is bound per iteration.
    For { var: Option<VarId>, iter: IterSpec },
    /// `loop`: ends at the `BreakIf` of its body.
    Infinite,
}

#[derive(Clone, Debug)]
pub struct Loop {
    pub head: LoopHead,
    /// Iterations started, for the reverse sweep to replay.
    pub counter: VarId,
    pub body: Block,
}

#[derive(Clone, Debug, Default)]
pub struct Block {
    pub id: usize,
    pub stmts: Vec<Stmt>,
}

#[derive(Clone, Debug)]
pub enum Stmt {
    Assign(Instr),
    Store(Store),
    If(If),
    Loop(Loop),
    /// `if flag { break; }`: ends a loop; nothing to reverse.
    BreakIf(VarId),
    /// An item declared in the body (`const K: f64 = 2.0;`), copied verbatim.
    Item(TokenStream),
}

#[derive(Clone, Debug)]
pub struct Function {
    pub vars: Vec<Var>,
    /// One entry per signature parameter; `None` for `_` patterns.
    pub params: Vec<Option<VarId>>,
    pub body: Block,
    pub ret: Operand,
}

impl Stmt {
    /// Adds the variables this statement writes, statements nested in it
    /// included: assignments, element writes (the vector), and a loop's
    /// counter and variable.
    pub fn writes(&self, out: &mut HashSet<VarId>) {
        match self {
            Stmt::Assign(ins) => {
                out.insert(ins.dest);
            }
            Stmt::Store(st) => {
                out.insert(st.vec);
            }
            Stmt::If(i) => {
                out.extend(i.then_block.writes());
                out.extend(i.else_block.writes());
            }
            Stmt::Loop(l) => {
                out.insert(l.counter);
                if let LoopHead::For { var: Some(v), .. } = &l.head {
                    out.insert(*v);
                }
                out.extend(l.body.writes());
            }
            Stmt::BreakIf(_) | Stmt::Item(_) => {}
        }
    }
}

impl Block {
    /// The variables the block's statements write (see [`Stmt::writes`]).
    pub fn writes(&self) -> HashSet<VarId> {
        let mut out = HashSet::new();
        for s in &self.stmts {
            s.writes(&mut out);
        }
        out
    }

    /// Every statement in this block and the blocks nested in it, in order.
    pub fn walk<'a>(&'a self, out: &mut Vec<(&'a Stmt, usize, usize)>, loop_depth: usize) {
        for s in &self.stmts {
            out.push((s, self.id, loop_depth));
            match s {
                Stmt::If(i) => {
                    i.then_block.walk(out, loop_depth);
                    i.else_block.walk(out, loop_depth);
                }
                Stmt::Loop(l) => l.body.walk(out, loop_depth + 1),
                _ => {}
            }
        }
    }
}

impl Function {
    /// Every statement with its block id and loop depth, in program order.
    pub fn stmts(&self) -> Vec<(&Stmt, usize, usize)> {
        let mut out = Vec::new();
        self.body.walk(&mut out, 0);
        out
    }

    /// Per variable, how many instructions assign it (1 for an SSA value).
    pub fn assignment_counts(&self) -> Vec<usize> {
        let mut sites = vec![0usize; self.vars.len()];
        for ins in self.instrs() {
            sites[ins.dest.0] += 1;
        }
        sites
    }

    /// Every instruction, in program order.
    pub fn instrs(&self) -> Vec<&Instr> {
        self.stmts()
            .into_iter()
            .filter_map(|(s, _, _)| match s {
                Stmt::Assign(i) => Some(i),
                _ => None,
            })
            .collect()
    }
}
