//! The intermediate representation: SSA over straight-line code.
//!
//! Plain data, so unit tests can build and inspect it without a compiler.
//! Every variable is assigned once; each instruction applies one operation.
//! A body is a list of [`Stmt`]s rather than a flat instruction vector so
//! structured control flow (branch and loop regions) can join as new
//! variants without changing the passes that walk straight-line code.

use crate::rules::Prim;
use proc_macro2::{Ident, TokenStream};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarId(pub usize);

#[derive(Clone, Debug)]
pub struct Var {
    /// The name it is emitted under: the user's own token for the first
    /// binding of a name, a fresh name for later versions and temporaries.
    pub ident: Ident,
    /// The user's type annotation, kept so `let c: f32 = 2.0;` stays typed.
    pub ty: Option<syn::Type>,
}

/// An instruction argument.
#[derive(Clone, Debug)]
pub enum Operand {
    Var(VarId),
    /// A constant expression without variables: a literal, a path
    /// (`PI`, `f64::EPSILON`), or operators over those.
    Const(Constant),
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
    /// `a as T`
    Cast(Box<syn::Type>),
    /// `a`
    Copy,
}

/// What is known of an operation's derivative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// A primitive with a rule in [`crate::rules`].
    Prim(Prim),
    /// Piecewise constant or non-float (comparisons, `floor`, integer
    /// casts): derivative zero, the result is never active.
    NonDiff,
    /// No rule known (an unknown method or function). Fine on constants;
    /// an error when an active value flows through it.
    Opaque,
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
}

#[derive(Clone, Debug)]
pub enum Stmt {
    Instr(Instr),
    /// An item declared in the body (`const K: f64 = 2.0;`), copied verbatim.
    Item(TokenStream),
}

#[derive(Clone, Debug)]
pub struct Function {
    pub vars: Vec<Var>,
    /// One entry per signature parameter; `None` for `_` patterns.
    pub params: Vec<Option<VarId>>,
    pub body: Vec<Stmt>,
    pub ret: Operand,
}

impl Function {
    pub fn instrs(&self) -> impl DoubleEndedIterator<Item = &Instr> {
        self.body.iter().filter_map(|s| match s {
            Stmt::Instr(i) => Some(i),
            Stmt::Item(_) => None,
        })
    }
}
