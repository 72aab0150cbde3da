//! The program generator. Self-contained (no dependencies) so that `build.rs`
//! can include it with `#[path]` as well as the library exporting it.
//!
//! A program is built as a small AST (`S`, `E`, `C`) and printed twice:
//! once as the `#[grad] fn pK` under test, once as `fn pK_kd`, the same body
//! with every non-smooth site (comparison, `max`, `min`, `abs`, `relu`)
//! instrumented to record its distance to the kink and its outcome in a
//! branch signature (see the crate README for how the test uses them).

use std::fmt::Write as _;

/// SplitMix64: tiny, deterministic, good enough for generating programs.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// The kind of a generated function's parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// `f64`, differentiable, domain `[-2, 2]`.
    Scalar,
    /// `&[f64]`, differentiable, elements in `[-1.5, 1.5]`.
    Slice,
    /// `usize` constant in `0..=4`.
    Usize,
    /// `i32` constant in `-1..=5`.
    I32,
}

#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
}

/// Domain of scalar parameters.
pub const SCALAR_DOMAIN: (f64, f64) = (-2.0, 2.0);
/// Domain of slice elements.
pub const SLICE_DOMAIN: (f64, f64) = (-1.5, 1.5);
/// Values of a `usize` constant parameter (inclusive).
pub const USIZE_RANGE: (i64, i64) = (0, 4);
/// Values of an `i32` constant parameter (inclusive).
pub const I32_RANGE: (i64, i64) = (-1, 5);

/// One generated function.
#[derive(Clone, Debug)]
pub struct Program {
    pub index: usize,
    pub name: String,
    pub params: Vec<Param>,
    /// Length of the slice argument used when testing (3..=6).
    pub slice_len: usize,
    /// `#[grad] fn pK(...) -> f64 { ... }`
    pub source: String,
    /// `fn pK_kd(..., __kd: &mut Kd) -> f64 { ... }`, instrumented.
    pub kd_source: String,
    /// Indices of the programs this one calls directly.
    pub callees: Vec<usize>,
    /// Rough bound on |value| (a heuristic for keeping values tame).
    pub out_bound: f64,
    /// 0 for a program that calls nothing, else 1 + max over callees.
    pub call_depth: u32,
    /// A writer: `fn pK(..., out: &mut [f64])`, returning nothing, that
    /// mixes its value into `out` (see [`WRITER_COTANGENT`]).
    pub writer: bool,
}

/// A writer's `out` when it is tested on its own: this many elements, each
/// a differentiable input in [`SLICE_DOMAIN`]. The test differentiates
/// `⟨WRITER_COTANGENT, out_final⟩` through the writer's `pK_pullback`.
pub const WRITER_OUT_LEN: usize = 4;
pub const WRITER_COTANGENT: [f64; WRITER_OUT_LEN] = [0.7, -1.3, 0.4, 1.1];

// ---------------------------------------------------------------- AST

#[derive(Clone, Debug)]
enum E {
    /// Identifier, element read, `(i as f64)`, `std::f64::consts::PI`...
    Atom(String),
    Lit(f64),
    Neg(Box<E>),
    Bin(Box<E>, &'static str, Box<E>),
    Method(Box<E>, &'static str, Vec<E>),
    /// `sigmoid(e)`, `softplus(e)`, `relu(e)`.
    Func(&'static str, Box<E>),
    Call(usize, Vec<Arg>),
}

impl E {
    /// Whether the expression's type is known to be `f64` where it stands
    /// (a bare literal, or arithmetic on literals only, is `{float}`, on
    /// which rustc refuses method calls).
    fn typed(&self) -> bool {
        match self {
            E::Atom(_) | E::Call(..) => true,
            E::Lit(_) => false,
            E::Neg(a) | E::Func(_, a) | E::Method(a, _, _) => a.typed(),
            E::Bin(a, _, b) => a.typed() || b.typed(),
        }
    }
}

#[derive(Clone, Debug)]
enum Arg {
    F(E),
    /// A slice argument written as is (`x`, `&y0`).
    Slice(String),
    /// `&[e, e, e]`
    Arr(Vec<E>),
    Int(String),
}

#[derive(Clone, Debug)]
enum C {
    /// Comparison of two float expressions (a kink site).
    Cmp(E, &'static str, E),
    /// Integer condition, written as is.
    Int(String),
    And(Box<C>, Box<C>),
    Or(Box<C>, Box<C>),
    Not(Box<C>),
}

#[derive(Clone, Debug)]
enum VecInit {
    Zeros,
    ToVec(String),
    Fill(E),
}

#[derive(Clone, Debug)]
enum S {
    Let {
        name: String,
        mutable: bool,
        typed: bool,
        init: E,
    },
    /// `let r; if c { r = e; } else { r = e; }`
    LetDeferred {
        name: String,
        cond: C,
        then: E,
        els: E,
    },
    Assign {
        name: String,
        op: &'static str,
        value: E,
    },
    /// An integer statement written as is (`let m = x.len();`).
    Raw(String),
    VecDecl {
        name: String,
        init: VecInit,
    },
    /// `callee(args, &mut dest);`: a writer fills `dest`.
    OutCall {
        callee: usize,
        args: Vec<Arg>,
        dest: String,
    },
    /// `let mut name = from0;` or `let mut name = if cond { from0 } else { from1 };`:
    /// vectors moved into a new binding (never used again).
    VecMove {
        name: String,
        from: Vec<String>,
        cond: Option<C>,
    },
    VecWrite {
        name: String,
        idx: String,
        op: &'static str,
        value: E,
    },
    If {
        arms: Vec<(C, Vec<S>)>,
        els: Option<Vec<S>>,
    },
    LetIf {
        name: String,
        arms: Vec<(C, Vec<S>, E)>,
        els: (Vec<S>, E),
    },
    LetMatch {
        name: String,
        scrut: String,
        arms: Vec<(String, E)>,
    },
    For {
        var: String,
        range: String,
        body: Vec<S>,
    },
    /// `let mut w = 0; while w < limit [&& extra] { body; w += 1; }`
    While {
        counter: String,
        limit: u32,
        extra: Option<C>,
        body: Vec<S>,
    },
    Break,
    Continue,
    Return(E),
}

// ---------------------------------------------------------------- printing

fn lit(v: f64) -> String {
    let s = format!("{v:?}");
    if v < 0.0 {
        format!("({s})")
    } else {
        s
    }
}

struct Printer<'a> {
    kd: bool,
    names: &'a [String],
    /// Printing a writer: `return e;` adds `e` into `out` and returns nothing.
    writer: bool,
}

impl Printer<'_> {
    fn e(&self, e: &E) -> String {
        match e {
            E::Atom(s) => s.clone(),
            E::Lit(v) => lit(*v),
            E::Neg(a) => format!("(-{})", self.e(a)),
            E::Bin(a, op, b) => format!("({} {op} {})", self.e(a), self.e(b)),
            E::Method(r, m, args) => {
                let r = self.e(r);
                let args: Vec<String> = args.iter().map(|a| self.e(a)).collect();
                if self.kd && (*m == "max" || *m == "min") {
                    format!(
                        "({{ let __l = {r}; let __r = {}; __kink(__kd, __l - __r, __l > __r); __l.{m}(__r) }})",
                        args[0]
                    )
                } else if self.kd && *m == "abs" {
                    format!("({{ let __v = {r}; __kink(__kd, __v, __v > 0.0); __v.abs() }})")
                } else {
                    format!("{r}.{m}({})", args.join(", "))
                }
            }
            E::Func(f, a) => {
                if self.kd && *f == "relu" {
                    format!(
                        "({{ let __v = {}; __kink(__kd, __v, __v > 0.0); relu(__v) }})",
                        self.e(a)
                    )
                } else {
                    format!("{f}({})", self.e(a))
                }
            }
            E::Call(k, args) => self.call(*k, args, None),
        }
    }

    /// A call of program `k`, `written` (`&mut y0`) after the arguments; the
    /// instrumented twin calls `pK_kd` and passes `__kd` on.
    fn call(&self, k: usize, args: &[Arg], written: Option<&str>) -> String {
        let mut out: Vec<String> = args.iter().map(|a| self.arg(a)).collect();
        out.extend(written.map(|w| format!("&mut {w}")));
        if self.kd {
            out.push("__kd".into());
            format!("{}_kd({})", self.names[k], out.join(", "))
        } else {
            format!("{}({})", self.names[k], out.join(", "))
        }
    }

    /// An expression in statement position: outer parentheses dropped.
    fn top(&self, e: &E) -> String {
        let s = self.e(e);
        if matches!(e, E::Bin(..)) {
            s[1..s.len() - 1].to_string()
        } else {
            s
        }
    }

    fn arg(&self, a: &Arg) -> String {
        match a {
            Arg::F(e) => self.top(e),
            Arg::Slice(s) | Arg::Int(s) => s.clone(),
            Arg::Arr(es) => {
                let v: Vec<String> = es.iter().map(|e| self.top(e)).collect();
                format!("&[{}]", v.join(", "))
            }
        }
    }

    fn c(&self, c: &C) -> String {
        match c {
            C::Cmp(a, op, b) => {
                if self.kd {
                    format!(
                        "({{ let __l = {}; let __r = {}; __kink(__kd, __l - __r, __l > __r); __l {op} __r }})",
                        self.top(a),
                        self.top(b)
                    )
                } else {
                    format!("{} {op} {}", self.e(a), self.e(b))
                }
            }
            C::Int(s) => s.clone(),
            C::And(a, b) => format!("{} && {}", self.c_in_and(a), self.c_in_and(b)),
            C::Or(a, b) => format!("{} || {}", self.c(a), self.c(b)),
            C::Not(a) => format!("!({})", self.c(a)),
        }
    }

    fn c_in_and(&self, c: &C) -> String {
        if matches!(c, C::Or(..)) {
            format!("({})", self.c(c))
        } else {
            self.c(c)
        }
    }

    fn block(&self, out: &mut String, body: &[S], ind: usize) {
        for s in body {
            self.s(out, s, ind);
        }
    }

    fn s(&self, out: &mut String, s: &S, ind: usize) {
        let pad = "    ".repeat(ind);
        match s {
            S::Let {
                name,
                mutable,
                typed,
                init,
            } => {
                let m = if *mutable { "mut " } else { "" };
                let t = if *typed { ": f64" } else { "" };
                let _ = writeln!(out, "{pad}let {m}{name}{t} = {};", self.top(init));
            }
            S::LetDeferred {
                name,
                cond,
                then,
                els,
            } => {
                let t = if then.typed() || els.typed() {
                    ""
                } else {
                    ": f64"
                };
                let _ = writeln!(out, "{pad}let {name}{t};");
                let _ = writeln!(out, "{pad}if {} {{", self.c(cond));
                let _ = writeln!(out, "{pad}    {name} = {};", self.top(then));
                let _ = writeln!(out, "{pad}}} else {{");
                let _ = writeln!(out, "{pad}    {name} = {};", self.top(els));
                let _ = writeln!(out, "{pad}}}");
            }
            S::Assign { name, op, value } => {
                let _ = writeln!(out, "{pad}{name} {op} {};", self.top(value));
            }
            S::Raw(r) => {
                let _ = writeln!(out, "{pad}{r}");
            }
            S::VecDecl { name, init } => {
                // `Vec<{float}>` would make later element method calls ambiguous.
                let (t, init) = match init {
                    VecInit::Zeros => (": Vec<f64>", "vec![0.0; m]".to_string()),
                    VecInit::ToVec(x) => ("", format!("{x}.to_vec()")),
                    VecInit::Fill(e) => (
                        if e.typed() { "" } else { ": Vec<f64>" },
                        format!("vec![{}; m]", self.top(e)),
                    ),
                };
                let _ = writeln!(out, "{pad}let mut {name}{t} = {init};");
            }
            S::VecMove { name, from, cond } => match (cond, &from[..]) {
                (Some(c), [a, b]) => {
                    let c = self.c(c);
                    let _ = writeln!(
                        out,
                        "{pad}let mut {name} = if {c} {{ {a} }} else {{ {b} }};"
                    );
                }
                _ => {
                    let _ = writeln!(out, "{pad}let mut {name} = {};", from[0]);
                }
            },
            S::VecWrite {
                name,
                idx,
                op,
                value,
            } => {
                let _ = writeln!(out, "{pad}{name}[{idx}] {op} {};", self.top(value));
            }
            S::If { arms, els } => {
                for (i, (c, body)) in arms.iter().enumerate() {
                    if i == 0 {
                        let _ = writeln!(out, "{pad}if {} {{", self.c(c));
                    } else {
                        let _ = writeln!(out, "{pad}}} else if {} {{", self.c(c));
                    }
                    self.block(out, body, ind + 1);
                }
                if let Some(body) = els {
                    let _ = writeln!(out, "{pad}}} else {{");
                    self.block(out, body, ind + 1);
                }
                let _ = writeln!(out, "{pad}}}");
            }
            S::LetIf { name, arms, els } => {
                let typed = els.1.typed() || arms.iter().any(|a| a.2.typed());
                let t = if typed { "" } else { ": f64" };
                for (i, (c, body, v)) in arms.iter().enumerate() {
                    if i == 0 {
                        let _ = writeln!(out, "{pad}let {name}{t} = if {} {{", self.c(c));
                    } else {
                        let _ = writeln!(out, "{pad}}} else if {} {{", self.c(c));
                    }
                    self.block(out, body, ind + 1);
                    let _ = writeln!(out, "{pad}    {}", self.top(v));
                }
                let _ = writeln!(out, "{pad}}} else {{");
                self.block(out, &els.0, ind + 1);
                let _ = writeln!(out, "{pad}    {}", self.top(&els.1));
                let _ = writeln!(out, "{pad}}};");
            }
            S::LetMatch { name, scrut, arms } => {
                let t = if arms.iter().any(|a| a.1.typed()) {
                    ""
                } else {
                    ": f64"
                };
                let _ = writeln!(out, "{pad}let {name}{t} = match {scrut} {{");
                for (p, v) in arms {
                    let _ = writeln!(out, "{pad}    {p} => {},", self.top(v));
                }
                let _ = writeln!(out, "{pad}}};");
            }
            S::For { var, range, body } => {
                let _ = writeln!(out, "{pad}for {var} in {range} {{");
                self.block(out, body, ind + 1);
                let _ = writeln!(out, "{pad}}}");
            }
            S::While {
                counter,
                limit,
                extra,
                body,
            } => {
                let _ = writeln!(out, "{pad}let mut {counter} = 0;");
                match extra {
                    Some(c) => {
                        let _ = writeln!(
                            out,
                            "{pad}while {counter} < {limit} && {} {{",
                            self.c_in_and(c)
                        );
                    }
                    None => {
                        let _ = writeln!(out, "{pad}while {counter} < {limit} {{");
                    }
                }
                self.block(out, body, ind + 1);
                let _ = writeln!(out, "{pad}    {counter} += 1;");
                let _ = writeln!(out, "{pad}}}");
            }
            S::Break => {
                let _ = writeln!(out, "{pad}break;");
            }
            S::Continue => {
                let _ = writeln!(out, "{pad}continue;");
            }
            S::Return(e) if self.writer => {
                let _ = writeln!(out, "{pad}out[0] += {};", self.top(e));
                let _ = writeln!(out, "{pad}return;");
            }
            S::Return(e) => {
                let _ = writeln!(out, "{pad}return {};", self.top(e));
            }
            S::OutCall { callee, args, dest } => {
                let _ = writeln!(out, "{pad}{};", self.call(*callee, args, Some(dest)));
            }
        }
    }
}

// ---------------------------------------------------------------- generation

#[derive(Clone, Debug)]
enum VarKind {
    Scalar,
    Vector,
    /// `let r = &x[..];`: a sub-slice binding of the slice parameter, as
    /// long as it (so every index that fits `x` fits it).
    View,
}

#[derive(Clone, Debug)]
struct Var {
    name: String,
    kind: VarKind,
    mutable: bool,
    bound: f64,
    /// Number of enclosing loops at the declaration.
    loop_depth: usize,
    /// A vector moved into another binding: out of use.
    moved: bool,
}

#[derive(Clone, Debug)]
struct Loop {
    /// Loop variable or `while` counter.
    var: Option<String>,
    /// The variable is known to be `< m`.
    lt_m: bool,
    /// Upper bound on the number of iterations.
    iters: f64,
    is_while: bool,
}

struct Gen<'a> {
    rng: &'a mut Rng,
    helpers: &'a [Program],
    scopes: Vec<Vec<Var>>,
    loops: Vec<Loop>,
    /// A usize `m` (the length of every vector) is in scope.
    has_m: bool,
    slice: Option<String>,
    usize_param: Option<String>,
    i32_param: Option<String>,
    fresh: usize,
    n_vecs: usize,
    budget: isize,
    /// Sums only ever added to (`sum1 += e`), never read until the final
    /// expression (name, bound): their loops fuse (autodiff-macros/src/fuse.rs).
    sums: Vec<(String, f64)>,
    /// A sum to add to at the end of the loop body at this scope depth.
    pending_sum: Option<(String, usize, f64)>,
    /// A vector the loop body at this scope depth overwrites whole first
    /// (`for j in 0..m { y[j] = e; }`): a scratch vector a fused loop may
    /// keep per iteration.
    pending_scratch: Option<(String, usize)>,
    callees: Vec<usize>,
    ret_bound: f64,
    /// Generating an `else if` condition (see `cond`).
    forbid_or: bool,
    /// An early `return` has been generated (see `cond`).
    returned: bool,
}

const LITS: [f64; 10] = [0.5, 1.5, 2.0, 0.25, 3.0, 0.1, 0.75, 1.0, 0.3, 1.2];
/// Values above this bound are squashed with `tanh`.
const SQUASH: f64 = 50.0;

impl Gen<'_> {
    fn vars(&self) -> impl Iterator<Item = &Var> {
        // Innermost first; a shadowed name is reported once, by its innermost binding.
        let mut seen: Vec<&str> = Vec::new();
        let mut out = Vec::new();
        for scope in self.scopes.iter().rev() {
            for v in scope.iter().rev() {
                if !seen.contains(&v.name.as_str()) {
                    seen.push(&v.name);
                    out.push(v);
                }
            }
        }
        out.into_iter()
    }

    fn scalars(&self) -> Vec<Var> {
        self.vars()
            .filter(|v| matches!(v.kind, VarKind::Scalar))
            .cloned()
            .collect()
    }

    fn vectors(&self) -> Vec<Var> {
        self.vars()
            .filter(|v| matches!(v.kind, VarKind::Vector) && !v.moved)
            .cloned()
            .collect()
    }

    fn lookup_mut(&mut self, name: &str) -> Option<&mut Var> {
        for scope in self.scopes.iter_mut().rev() {
            for v in scope.iter_mut().rev() {
                if v.name == name {
                    return Some(v);
                }
            }
        }
        None
    }

    fn declare(&mut self, name: &str, kind: VarKind, mutable: bool, bound: f64) {
        let loop_depth = self.loops.len();
        self.scopes.last_mut().unwrap().push(Var {
            name: name.into(),
            kind,
            mutable,
            bound,
            loop_depth,
            moved: false,
        });
    }

    /// Moves one vector, or one of two by a condition, into a new binding.
    /// Only vectors declared in this block (so at this loop depth: a move
    /// never crosses an iteration), which then go out of use.
    fn vec_move(&mut self) -> Option<S> {
        let depth = self.loops.len();
        let movable: Vec<Var> = self
            .scopes
            .last()
            .expect("a scope is open")
            .iter()
            .filter(|v| matches!(v.kind, VarKind::Vector) && !v.moved && v.loop_depth == depth)
            .cloned()
            .collect();
        if movable.is_empty() {
            return None;
        }
        let a = self.rng.pick(&movable).clone();
        let (from, cond) = match movable.iter().find(|v| v.name != a.name) {
            Some(b) if self.rng.chance(0.5) => {
                let b = b.clone();
                (vec![a, b], Some(self.cond(1)))
            }
            _ => (vec![a], None),
        };
        let bound = from.iter().map(|v| v.bound).fold(1.0, f64::max);
        for v in &from {
            self.lookup_mut(&v.name).expect("in scope").moved = true;
        }
        let name = self.fresh("ym");
        self.declare(&name, VarKind::Vector, true, bound);
        Some(S::VecMove {
            name,
            from: from.into_iter().map(|v| v.name).collect(),
            cond,
        })
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.fresh += 1;
        format!("{prefix}{}", self.fresh)
    }

    /// Iterations of the loops entered since a variable at `depth` was declared.
    fn iters_since(&self, depth: usize) -> f64 {
        self.loops[depth.min(self.loops.len())..]
            .iter()
            .map(|l| l.iters)
            .product()
    }

    fn in_for(&self) -> bool {
        self.loops.last().is_some_and(|l| !l.is_while)
    }

    // ---- index expressions (for vectors of length m >= 3)

    fn m_expr(&mut self) -> String {
        match self.slice_or_view() {
            Some(x) if self.rng.chance(0.25) => format!("{x}.len()"),
            _ => "m".into(),
        }
    }

    /// The slice parameter, or now and then a view of it in scope.
    fn slice_or_view(&mut self) -> Option<String> {
        let views: Vec<String> = self
            .vars()
            .filter(|v| matches!(v.kind, VarKind::View))
            .map(|v| v.name.clone())
            .collect();
        if !views.is_empty() && self.rng.chance(0.5) {
            return Some(self.rng.pick(&views).clone());
        }
        self.slice.clone()
    }

    /// Now and then `let rK = &x[<all of it>];` (or of a view in scope),
    /// each form of range and a start read from a loop variable.
    fn maybe_view(&mut self, out: &mut Vec<S>) {
        let Some(base) = self.slice_or_view() else {
            return;
        };
        if !self.rng.chance(0.2) {
            return;
        }
        let name = self.fresh("r");
        let vars: Vec<String> = self.loops.iter().filter_map(|l| l.var.clone()).collect();
        let range = match self.rng.below(5) {
            0 => "..".to_string(),
            1 => format!("0..{base}.len()"),
            2 => format!("..={base}.len() - 1"),
            3 if !vars.is_empty() => format!("{} * 0..", self.rng.pick(&vars)),
            _ => "0..".to_string(),
        };
        out.push(S::Raw(format!("let {name} = &{base}[{range}];")));
        self.declare(&name, VarKind::View, false, SLICE_DOMAIN.1);
    }

    fn index(&mut self) -> String {
        let lv: Vec<Loop> = self
            .loops
            .iter()
            .filter(|l| l.var.is_some())
            .cloned()
            .collect();
        if !lv.is_empty() && self.rng.chance(0.8) {
            let l = self.rng.pick(&lv).clone();
            let i = l.var.unwrap();
            let m = self.m_expr();
            if l.lt_m {
                // Another loop's variable times zero: a base the body
                // recomputes alike on every iteration (`a[r * d + j]`).
                let other = lv.iter().filter_map(|o| o.var.clone()).find(|o| *o != i);
                match self.rng.below(4) {
                    0 => i,
                    1 => match other {
                        Some(o) => format!("{o} * 0 + {i}"),
                        None => i,
                    },
                    2 => format!("({i} + 1) % {m}"),
                    _ => format!("{m} - 1 - {i}"),
                }
            } else if self.rng.chance(0.5) {
                format!("{i} % {m}")
            } else {
                format!("({i} + 2) % {m}")
            }
        } else {
            match self.rng.below(4) {
                0 => "0".into(),
                1 => "1".into(),
                2 => "2".into(),
                _ => {
                    let m = self.m_expr();
                    format!("{m} - 1")
                }
            }
        }
    }

    // ---- float expressions

    fn atom(&mut self) -> (E, f64) {
        for _ in 0..8 {
            match self.rng.below(12) {
                0..=4 => {
                    let s = self.scalars();
                    // Prefer recent bindings a little.
                    let k = self.rng.below(s.len()).min(self.rng.below(s.len()));
                    let v = &s[k];
                    return (E::Atom(v.name.clone()), v.bound);
                }
                5 => {
                    let v = *self.rng.pick(&LITS);
                    return (E::Lit(v), v);
                }
                6 => {
                    if self.rng.chance(0.2) {
                        return (E::Atom("std::f64::consts::PI".into()), 3.2);
                    }
                }
                7 | 8 => {
                    if let Some(x) = self.slice_or_view() {
                        let i = self.index();
                        return (E::Atom(format!("{x}[{i}]")), SLICE_DOMAIN.1);
                    }
                }
                9 => {
                    let vs = self.vectors();
                    if !vs.is_empty() {
                        let v = self.rng.pick(&vs).clone();
                        // Now and then the whole vector's sum (at most 6
                        // elements) rather than one element.
                        if self.rng.chance(0.25) {
                            return (
                                E::Atom(format!("{}.iter().sum::<f64>()", v.name)),
                                6.0 * v.bound,
                            );
                        }
                        let i = self.index();
                        return (E::Atom(format!("{}[{i}]", v.name)), v.bound);
                    }
                    if let Some(x) = self.slice.clone() {
                        if self.rng.chance(0.25) {
                            return (
                                E::Atom(format!("{x}.iter().sum::<f64>()")),
                                6.0 * SLICE_DOMAIN.1,
                            );
                        }
                    }
                }
                10 => {
                    let lv: Vec<Loop> = self.loops.clone();
                    if !lv.is_empty() {
                        let l = self.rng.pick(&lv).clone();
                        if let Some(i) = l.var {
                            return (E::Atom(format!("({i} as f64)")), l.iters + 2.0);
                        }
                    }
                }
                _ => {
                    if let Some(n) = self.usize_param.clone() {
                        return (E::Atom(format!("({n} as f64)")), 4.0);
                    }
                    if let Some(k) = self.i32_param.clone() {
                        return (E::Atom(format!("({k} as f64)")), 5.0);
                    }
                }
            }
        }
        let s = self.scalars();
        let v = self.rng.pick(&s).clone();
        (E::Atom(v.name), v.bound)
    }

    /// An expression of known type `f64` (a method receiver).
    fn nonlit(&mut self, depth: u32) -> (E, f64) {
        for _ in 0..4 {
            let r = self.expr(depth);
            if r.0.typed() {
                return r;
            }
        }
        let s = self.scalars();
        let v = self.rng.pick(&s).clone();
        (E::Atom(v.name), v.bound)
    }

    fn squash(e: E, b: f64) -> (E, f64) {
        if b > SQUASH && e.typed() {
            (E::Method(Box::new(e), "tanh", vec![]), 1.0)
        } else {
            (e, b)
        }
    }

    /// `e.tanh()`; a constant-only `e` (type `{float}`) is left as is.
    /// An expression, squashed by `tanh` when its bound exceeds 4.
    fn tame_expr(&mut self, depth: u32) -> (E, f64) {
        let (e, b) = self.expr(depth);
        if b > 4.0 {
            (Self::tanh(e), 1.0)
        } else {
            (e, b)
        }
    }

    /// `for var in 0..m { name[var] op value; }`.
    fn scratch_loop(var: &str, name: &str, op: &'static str, value: E) -> S {
        S::For {
            var: var.to_string(),
            range: "0..m".to_string(),
            body: vec![S::VecWrite {
                name: name.to_string(),
                idx: var.to_string(),
                op,
                value,
            }],
        }
    }

    fn tanh(e: E) -> E {
        if e.typed() {
            E::Method(Box::new(e), "tanh", vec![])
        } else {
            e
        }
    }

    fn expr(&mut self, depth: u32) -> (E, f64) {
        if depth == 0 || self.rng.chance(0.25) {
            return self.atom();
        }
        let d = depth - 1;
        let (e, b) = match self.rng.below(22) {
            0..=2 => {
                let (a, ba) = self.expr(d);
                let (c, bc) = self.expr(d);
                let op = if self.rng.chance(0.5) { "+" } else { "-" };
                (E::Bin(Box::new(a), op, Box::new(c)), ba + bc)
            }
            3..=5 => {
                let (a, ba) = self.expr(d);
                let (c, bc) = self.expr(d);
                (E::Bin(Box::new(a), "*", Box::new(c)), ba * bc)
            }
            6 => {
                // a / (c * c + k), or a / (2.0 + c.sin())
                let (a, ba) = self.expr(d);
                let (c, _) = self.nonlit(d);
                if self.rng.chance(0.7) {
                    let k = *self.rng.pick(&[1.0, 0.5, 2.0]);
                    let den = E::Bin(
                        Box::new(E::Bin(Box::new(c.clone()), "*", Box::new(c))),
                        "+",
                        Box::new(E::Lit(k)),
                    );
                    (E::Bin(Box::new(a), "/", Box::new(den)), ba / k)
                } else {
                    let den = E::Bin(
                        Box::new(E::Lit(2.0)),
                        "+",
                        Box::new(E::Method(Box::new(c), "sin", vec![])),
                    );
                    (E::Bin(Box::new(a), "/", Box::new(den)), ba)
                }
            }
            7 => {
                let (a, ba) = self.nonlit(d);
                if ba <= 3.0 {
                    (E::Method(Box::new(a), "exp", vec![]), ba.exp())
                } else if self.rng.chance(0.5) {
                    (
                        E::Method(Box::new(Self::tanh(a)), "exp", vec![]),
                        std::f64::consts::E,
                    )
                } else {
                    // exp(-a*a)
                    let sq = E::Neg(Box::new(E::Bin(Box::new(a.clone()), "*", Box::new(a))));
                    (E::Method(Box::new(sq), "exp", vec![]), 1.0)
                }
            }
            8 => {
                let (a, ba) = self.nonlit(d);
                match self.rng.below(3) {
                    0 => {
                        let arg = E::Bin(
                            Box::new(E::Bin(Box::new(a.clone()), "*", Box::new(a))),
                            "+",
                            Box::new(E::Lit(0.5)),
                        );
                        (
                            E::Method(Box::new(arg), "ln", vec![]),
                            (ba * ba + 0.5).ln().abs().max(0.7),
                        )
                    }
                    1 if ba <= 20.0 => {
                        let arg = E::Method(Box::new(a), "exp", vec![]);
                        (E::Method(Box::new(arg), "ln", vec![]), ba)
                    }
                    _ => {
                        let arg = E::Func("sigmoid", Box::new(a));
                        (E::Method(Box::new(arg), "ln", vec![]), ba + 1.0)
                    }
                }
            }
            9 => {
                let (a, ba) = self.nonlit(d);
                if self.rng.chance(0.7) {
                    let arg = E::Bin(
                        Box::new(E::Bin(Box::new(a.clone()), "*", Box::new(a))),
                        "+",
                        Box::new(E::Lit(0.1)),
                    );
                    (E::Method(Box::new(arg), "sqrt", vec![]), ba + 1.0)
                } else {
                    let a = if ba > 3.0 { Self::tanh(a) } else { a };
                    let arg = E::Method(Box::new(a), "exp", vec![]);
                    (E::Method(Box::new(arg), "sqrt", vec![]), 5.0)
                }
            }
            10..=12 => {
                let (a, _) = self.nonlit(d);
                let m = *self.rng.pick(&["sin", "cos", "tanh"]);
                (E::Method(Box::new(a), m, vec![]), 1.0)
            }
            13 => {
                let (a, ba) = self.nonlit(d);
                let (a, ba) = if ba > 10.0 {
                    (Self::tanh(a), 1.0)
                } else {
                    (a, ba)
                };
                let k = *self.rng.pick(&[2i32, 3, 2, 4]);
                (
                    E::Method(Box::new(a), "powi", vec![E::Atom(k.to_string())]),
                    ba.powi(k),
                )
            }
            14 => {
                // positive base ^ (literal or active squashed exponent)
                let (a, ba) = self.nonlit(d);
                let base = E::Bin(
                    Box::new(E::Bin(Box::new(a.clone()), "*", Box::new(a))),
                    "+",
                    Box::new(E::Lit(0.5)),
                );
                let pb = (ba * ba + 0.5).max(2.0);
                if self.rng.chance(0.5) {
                    let p = *self.rng.pick(&[0.5, 1.5, 0.3]);
                    (
                        E::Method(Box::new(base), "powf", vec![E::Lit(p)]),
                        pb.powf(p),
                    )
                } else {
                    let (q, _) = self.nonlit(d);
                    (E::Method(Box::new(base), "powf", vec![Self::tanh(q)]), pb)
                }
            }
            15 => {
                let (a, ba) = self.nonlit(d);
                (E::Method(Box::new(a), "abs", vec![]), ba)
            }
            16 | 17 => {
                let (a, ba) = self.nonlit(d);
                let (c, bc) = self.expr(d);
                let m = if self.rng.chance(0.5) { "max" } else { "min" };
                (E::Method(Box::new(a), m, vec![c]), ba.max(bc))
            }
            18 => {
                let (a, ba) = self.expr(d);
                match self.rng.below(4) {
                    0 | 1 => (E::Func("sigmoid", Box::new(a)), 1.0),
                    2 => (E::Func("softplus", Box::new(a)), ba + 1.0),
                    _ => (E::Func("relu", Box::new(a)), ba),
                }
            }
            19 => {
                let (a, ba) = self.nonlit(d);
                (E::Neg(Box::new(a)), ba)
            }
            _ => self.call(d),
        };
        Self::squash(e, b)
    }

    /// `&v`, or a part of `v` at least 3 long (callees index 0..=2): all of
    /// it as a range, its last three, or a tail starting at a loop's
    /// variable.
    fn sub_slice(&mut self, v: &str) -> String {
        let vars: Vec<String> = self.loops.iter().filter_map(|l| l.var.clone()).collect();
        match self.rng.below(6) {
            0 => format!("&{v}[..]"),
            1 => format!("&{v}[0..{v}.len()]"),
            2 => format!("&{v}[{v}.len() - 3..={v}.len() - 1]"),
            3 if !vars.is_empty() => {
                let i = self.rng.pick(&vars).clone();
                format!("&{v}[{i} % ({v}.len() - 2)..]")
            }
            _ => format!("&{v}"),
        }
    }

    /// A call to an earlier generated program, or an atom if there is none.
    fn call(&mut self, depth: u32) -> (E, f64) {
        let cands = self.callable(false);
        if cands.is_empty() || self.rng.chance(0.3) {
            return self.atom();
        }
        let k = self.pick_recent(&cands);
        let callee = self.helpers[k].clone();
        let args = self.call_args(&callee, depth);
        if !self.callees.contains(&k) {
            self.callees.push(k);
        }
        let b = callee.out_bound;
        let e = E::Call(k, args);
        if b > 20.0 {
            (Self::tanh(e), 1.0)
        } else {
            (e, b)
        }
    }

    /// The earlier programs a call may go to: writers or the others, at
    /// most one call deep themselves.
    fn callable(&self, writer: bool) -> Vec<usize> {
        self.helpers
            .iter()
            .filter(|p| p.call_depth <= 1 && p.writer == writer)
            .map(|p| p.index)
            .collect()
    }

    /// One of `cands`, preferring recent programs (keeps call graphs local).
    fn pick_recent(&mut self, cands: &[usize]) -> usize {
        cands[cands.len() - 1 - self.rng.below(cands.len().min(20))]
    }

    /// A writer called on a vector in scope, `pK(args, &mut y0);`, or
    /// nothing if there is no writer or no vector.
    fn out_call(&mut self) -> Option<S> {
        let cands = self.callable(true);
        let vs = self.vectors();
        if cands.is_empty() || vs.is_empty() {
            return None;
        }
        let k = self.pick_recent(&cands);
        let callee = self.helpers[k].clone();
        let dest = self.rng.pick(&vs).clone();
        let mult = self.iters_since(dest.loop_depth);
        // Not also passed as a slice argument (Rust forbids the borrow).
        self.lookup_mut(&dest.name).expect("in scope").moved = true;
        let args = self.call_args(&callee, 1);
        let v = self.lookup_mut(&dest.name).expect("in scope");
        v.moved = false;
        // `out[q] = 0.5 out[q] + t` keeps a repeated call within 2 |t|.
        v.bound = (v.bound + 2.0 * callee.out_bound * mult.min(2.0)).min(SQUASH);
        if !self.callees.contains(&k) {
            self.callees.push(k);
        }
        Some(S::OutCall {
            callee: k,
            args,
            dest: dest.name,
        })
    }

    /// Arguments for a call of `callee`: expressions, slices and arrays,
    /// integers.
    fn call_args(&mut self, callee: &Program, depth: u32) -> Vec<Arg> {
        let mut args = Vec::new();
        for p in &callee.params {
            match p.kind {
                ParamKind::Scalar => {
                    let e = if self.rng.chance(0.15) {
                        E::Lit(*self.rng.pick(&LITS))
                    } else {
                        let (e, b) = self.expr(depth.min(1));
                        if b > 3.0 {
                            Self::tanh(e)
                        } else {
                            e
                        }
                    };
                    args.push(Arg::F(e));
                }
                ParamKind::Slice => {
                    let vs = self.vectors();
                    let r = self.rng.below(3);
                    if r == 0 && self.slice.is_some() {
                        args.push(Arg::Slice(self.slice_or_view().unwrap()));
                    } else if r == 1 && !vs.is_empty() {
                        let v = self.rng.pick(&vs).clone();
                        let arg = self.sub_slice(&v.name);
                        args.push(Arg::Slice(arg));
                    } else if self.rng.chance(0.2) {
                        // A constant vector (beside active ones: the caller
                        // passes the callee no destination for it).
                        let len = 3 + self.rng.below(2);
                        let es = (0..len).map(|_| E::Lit(*self.rng.pick(&LITS))).collect();
                        args.push(Arg::Arr(es));
                    } else {
                        let len = 3 + self.rng.below(2);
                        let es = (0..len)
                            .map(|_| {
                                let (e, b) = self.expr(depth.min(1));
                                if b > 3.0 {
                                    Self::tanh(e)
                                } else {
                                    e
                                }
                            })
                            .collect();
                        args.push(Arg::Arr(es));
                    }
                }
                ParamKind::Usize => {
                    let s = match (&self.usize_param, self.rng.below(3)) {
                        (Some(n), 0) => n.clone(),
                        _ => self.rng.below(5).to_string(),
                    };
                    args.push(Arg::Int(s));
                }
                ParamKind::I32 => {
                    let s = match (&self.i32_param, self.rng.below(3)) {
                        (Some(k), 0) => k.clone(),
                        _ => (self.rng.below(7) as i32 - 1).to_string(),
                    };
                    args.push(Arg::Int(s));
                }
            }
        }
        args
    }

    /// An expression bounded by about 2 (for `*=` and loop increments).
    fn small(&mut self, depth: u32) -> (E, f64) {
        let (e, b) = self.nonlit(depth);
        if b <= 2.0 {
            (e, b)
        } else {
            match self.rng.below(4) {
                0 => (Self::tanh(e), 1.0),
                1 => (E::Method(Box::new(e), "sin", vec![]), 1.0),
                2 => (E::Method(Box::new(e), "cos", vec![]), 1.0),
                _ => (E::Func("sigmoid", Box::new(e)), 1.0),
            }
        }
    }

    fn cond(&mut self, depth: u32) -> C {
        let r = self.rng.below(10);
        if depth > 0 && r < 2 {
            let a = self.cond(depth - 1);
            let b = self.cond(depth - 1);
            return if r == 0 {
                C::And(Box::new(a), Box::new(b))
            } else {
                C::Or(Box::new(a), Box::new(b))
            };
        }
        if r == 2 && depth > 0 {
            return C::Not(Box::new(self.cond(depth - 1)));
        }
        if r == 3 {
            // An integer condition if something integer is in scope.
            let lv: Vec<String> = self.loops.iter().filter_map(|l| l.var.clone()).collect();
            if !lv.is_empty() {
                let i = self.rng.pick(&lv).clone();
                return C::Int(match self.rng.below(3) {
                    0 => format!("{i} % 2 == 0"),
                    1 => format!("{i} > 1"),
                    _ => format!("{i} == 0"),
                });
            }
            if let Some(n) = self.usize_param.clone() {
                return C::Int(format!("{n} > 2"));
            }
            if let Some(k) = self.i32_param.clone() {
                return C::Int(format!("{k} < 2"));
            }
        }
        // Conditions compare an f64-typed expression (a comparison of
        // literals only was part of the unminimised `iters_not_found` program).
        let (a, _) = self.nonlit(1);
        let op = *self.rng.pick(&[">", "<", ">=", "<="]);
        let b = if self.rng.chance(0.5) {
            self.expr(1).0
        } else {
            E::Lit(*self.rng.pick(&[0.0, 0.5, -0.5, 1.0, 0.2]))
        };
        C::Cmp(a, op, b)
    }

    // ---- statements

    fn new_scalar_name(&mut self) -> String {
        // Sometimes shadow an existing scalar.
        if self.rng.chance(0.15) {
            let s = self.scalars();
            return self.rng.pick(&s).name.clone();
        }
        self.fresh("v")
    }

    fn block(&mut self, n: usize) -> Vec<S> {
        self.scopes.push(Vec::new());
        let mut out = Vec::new();
        if self
            .pending_scratch
            .as_ref()
            .is_some_and(|(_, depth)| *depth == self.scopes.len())
        {
            let (name, _) = self.pending_scratch.take().expect("checked above");
            let (e, b) = self.tame_expr(2);
            let var = ["i", "j", "l"][self.loops.len()].to_string();
            // Now and then added to rather than overwritten: the reverse
            // adds into the scratch's adjoint and sums for the scalars in
            // `e`, the loop autodiff-macros/src/distribute.rs splits.
            let op = if self.rng.chance(0.5) { "=" } else { "+=" };
            // Often times the slice's element (an axpy when `e` is a scalar).
            let (e, b) = match self.slice_or_view() {
                Some(x) if self.rng.chance(0.5) => (
                    E::Bin(Box::new(E::Atom(format!("{x}[{var}]"))), "*", Box::new(e)),
                    b * SLICE_DOMAIN.1,
                ),
                _ => (e, b),
            };
            out.push(Self::scratch_loop(&var, &name, op, e));
            let depth = self.lookup_mut(&name).map_or(0, |v| v.loop_depth);
            let iters = self.iters_since(depth);
            if let Some(v) = self.lookup_mut(&name) {
                v.bound = match op {
                    "=" => v.bound.max(b).max(1.0),
                    _ => v.bound + b * iters,
                };
            }
            // Now and then a second step of the formula over the same range,
            // reading the element the first step wrote: the two loops run as
            // one (autodiff-macros/src/merge.rs), unless `e` reads the
            // scratch at another index.
            if self.rng.chance(0.5) {
                let (e, b) = self.tame_expr(1);
                let own = E::Atom(format!("{name}[{var}]"));
                let step = E::Method(
                    Box::new(E::Bin(Box::new(own), "*", Box::new(E::Lit(0.5)))),
                    "sin",
                    vec![],
                );
                let value = E::Bin(Box::new(step), "+", Box::new(e));
                out.push(Self::scratch_loop(&var, &name, "=", value));
                if let Some(v) = self.lookup_mut(&name) {
                    v.bound = v.bound.max(1.0 + b);
                }
            }
        }
        self.maybe_view(&mut out);
        for _ in 0..n {
            if self.budget <= 0 {
                break;
            }
            self.stmt(&mut out);
        }
        if self
            .pending_sum
            .as_ref()
            .is_some_and(|(_, depth, _)| *depth == self.scopes.len())
        {
            let (name, _, iters) = self.pending_sum.take().expect("checked above");
            let (e, b) = self.expr(2);
            let op = if self.rng.chance(0.7) { "+=" } else { "-=" };
            out.push(S::Assign {
                name: name.clone(),
                op,
                value: e,
            });
            self.sums.push((name, b * iters + 1.0));
        }
        self.scopes.pop();
        out
    }

    fn stmt(&mut self, out: &mut Vec<S>) {
        self.budget -= 1;
        let in_loop = !self.loops.is_empty();
        let r = self.rng.below(100);
        match r {
            0..=21 => {
                let name = self.new_scalar_name();
                let (init, b) = self.expr(3);
                let mutable = self.rng.chance(0.4);
                let typed = self.rng.chance(0.15) || !init.typed();
                out.push(S::Let {
                    name: name.clone(),
                    mutable,
                    typed,
                    init,
                });
                self.declare(&name, VarKind::Scalar, mutable, b.max(1.0));
            }
            22..=41 => {
                let targets: Vec<Var> = self.scalars().into_iter().filter(|v| v.mutable).collect();
                if targets.is_empty() {
                    return self.stmt(out);
                }
                let t = self.rng.pick(&targets).clone();
                let mult = self.iters_since(t.loop_depth);
                let (op, value, nb) = match self.rng.below(6) {
                    0 | 1 => {
                        // AVOIDED: `v = 0.1;` (a literal) then `v.abs()` does not
                        // compile under #[grad] (`ambiguous numeric type {float}`;
                        // tests/regressions.rs, `literal_reassignment_then_method`).
                        let (e, b) = self.nonlit(3);
                        if mult > 1.0 && b > t.bound {
                            // Keep loop-carried values from growing.
                            ("=", Self::tanh(e), t.bound)
                        } else {
                            ("=", e, b.max(1.0))
                        }
                    }
                    2 | 3 => {
                        let (e, b) = if mult > 1.0 {
                            self.small(2)
                        } else {
                            self.expr(3)
                        };
                        let op = if self.rng.chance(0.6) { "+=" } else { "-=" };
                        (op, e, t.bound + b * mult)
                    }
                    4 => {
                        let (e, b) = self.small(2);
                        ("*=", e, t.bound * b.max(1.0).powf(mult))
                    }
                    _ => {
                        let (c, _) = self.nonlit(2);
                        let k = *self.rng.pick(&[1.0, 0.5, 2.0]);
                        let den = E::Bin(
                            Box::new(E::Bin(Box::new(c.clone()), "*", Box::new(c))),
                            "+",
                            Box::new(E::Lit(k)),
                        );
                        ("/=", den, t.bound / k.min(1.0).powf(mult))
                    }
                };
                out.push(S::Assign {
                    name: t.name.clone(),
                    op,
                    value,
                });
                if let Some(v) = self.lookup_mut(&t.name) {
                    v.bound = nb;
                }
            }
            42..=49 => {
                let n_arms = 1 + self.rng.below(3);
                let mut arms = Vec::new();
                for arm in 0..n_arms {
                    self.forbid_or = arm > 0;
                    let c = self.cond(2);
                    self.forbid_or = false;
                    let n = 1 + self.rng.below(3);
                    arms.push((c, self.block(n)));
                }
                let els = if self.rng.chance(0.6) {
                    let n = 1 + self.rng.below(3);
                    Some(self.block(n))
                } else {
                    None
                };
                out.push(S::If { arms, els });
            }
            50..=55 => {
                let name = self.new_scalar_name();
                let n_arms = 1 + self.rng.below(2);
                let mut arms = Vec::new();
                let mut bound: f64 = 1.0;
                for arm in 0..n_arms {
                    self.forbid_or = arm > 0;
                    let c = self.cond(1);
                    self.forbid_or = false;
                    self.scopes.push(Vec::new());
                    let n = self.rng.below(2);
                    let body = self.block(n);
                    let (v, b) = self.expr(2);
                    self.scopes.pop();
                    bound = bound.max(b);
                    arms.push((c, body, v));
                }
                self.scopes.push(Vec::new());
                let n = self.rng.below(2);
                let body = self.block(n);
                let (v, b) = self.expr(2);
                self.scopes.pop();
                bound = bound.max(b);
                out.push(S::LetIf {
                    name: name.clone(),
                    arms,
                    els: (body, v),
                });
                self.declare(&name, VarKind::Scalar, false, bound);
            }
            56..=58 => {
                let scrut = match (&self.usize_param, &self.i32_param) {
                    (Some(n), None) => Some((n.clone(), false)),
                    (None, Some(k)) => Some((k.clone(), true)),
                    (Some(n), Some(k)) => {
                        if self.rng.chance(0.5) {
                            Some((n.clone(), false))
                        } else {
                            Some((k.clone(), true))
                        }
                    }
                    (None, None) => None,
                };
                let Some((scrut, signed)) = scrut else {
                    return self.stmt(out);
                };
                let mut pats = vec!["0".to_string(), "1 | 2".to_string()];
                if self.rng.chance(0.5) {
                    pats.push("3..=4".into());
                }
                if signed && self.rng.chance(0.5) {
                    pats.push("q if q < 0".into());
                }
                pats.push("_".into());
                let name = self.new_scalar_name();
                let mut arms = Vec::new();
                let mut bound: f64 = 1.0;
                for p in pats {
                    let (v, b) = self.expr(2);
                    bound = bound.max(b);
                    arms.push((p, v));
                }
                out.push(S::LetMatch {
                    name: name.clone(),
                    scrut,
                    arms,
                });
                self.declare(&name, VarKind::Scalar, false, bound);
            }
            59..=73 => {
                // At most two loop levels, to keep programs small.
                if self.loops.len() >= 2 {
                    return self.stmt(out);
                }
                // An accumulator, often initialised from a constant.
                if self.rng.chance(0.6) {
                    let name = self.fresh("acc");
                    let (init, b) = match self.rng.below(4) {
                        0 | 1 => (E::Lit(0.0), 1.0),
                        2 => (E::Lit(1.0), 1.0),
                        _ => self.expr(2),
                    };
                    out.push(S::Let {
                        name: name.clone(),
                        mutable: true,
                        typed: self.rng.chance(0.2) || !init.typed(),
                        init,
                    });
                    self.declare(&name, VarKind::Scalar, true, b.max(1.0));
                }
                self.for_loop(out);
            }
            74..=77 => {
                if self.loops.len() >= 2 {
                    return self.stmt(out);
                }
                let counter = self.fresh("w");
                let limit = 2 + self.rng.below(3) as u32;
                let extra = if self.rng.chance(0.4) {
                    Some(self.cond(0))
                } else {
                    None
                };
                self.loops.push(Loop {
                    var: Some(counter.clone()),
                    lt_m: false,
                    iters: limit as f64,
                    is_while: true,
                });
                let n = 1 + self.rng.below(3);
                let body = self.block(n);
                self.loops.pop();
                out.push(S::While {
                    counter,
                    limit,
                    extra,
                    body,
                });
            }
            78..=82 => {
                if self.rng.chance(0.3) {
                    if let Some(s) = self.vec_move() {
                        out.push(s);
                        return;
                    }
                }
                if !self.has_m || self.n_vecs >= 2 {
                    return self.stmt(out);
                }
                self.n_vecs += 1;
                let name = format!("y{}", self.n_vecs - 1);
                let (init, b) = match (self.rng.below(3), &self.slice) {
                    (0, Some(x)) => (VecInit::ToVec(x.clone()), SLICE_DOMAIN.1),
                    (1, _) => {
                        let (e, b) = self.expr(2);
                        (VecInit::Fill(e), b)
                    }
                    _ => (VecInit::Zeros, 1.0),
                };
                out.push(S::VecDecl {
                    name: name.clone(),
                    init,
                });
                self.declare(&name, VarKind::Vector, true, b.max(1.0));
            }
            83..=90 => {
                if self.rng.chance(0.3) {
                    if let Some(s) = self.out_call() {
                        out.push(s);
                        return;
                    }
                }
                let vs = self.vectors();
                if vs.is_empty() {
                    return self.stmt(out);
                }
                let v = self.rng.pick(&vs).clone();
                let idx = self.index();
                let mult = self.iters_since(v.loop_depth);
                let (op, value, nb) = match self.rng.below(4) {
                    0 | 1 => {
                        let (e, b) = self.expr(2);
                        let (e, b) = if b > v.bound && mult > 1.0 {
                            (Self::tanh(e), v.bound)
                        } else {
                            (e, b.max(v.bound))
                        };
                        ("=", e, b)
                    }
                    2 => {
                        let (e, b) = self.small(2);
                        ("+=", e, v.bound + b * mult)
                    }
                    _ => {
                        let (e, b) = self.small(2);
                        ("*=", e, v.bound * b.max(1.0).powf(mult))
                    }
                };
                out.push(S::VecWrite {
                    name: v.name.clone(),
                    idx,
                    op,
                    value,
                });
                if let Some(v) = self.lookup_mut(&v.name) {
                    v.bound = nb;
                }
            }
            91..=94 => {
                if !in_loop {
                    return self.stmt(out);
                }
                let c = self.cond(1);
                let s = if self.in_for() && self.rng.chance(0.5) {
                    S::Continue
                } else {
                    S::Break
                };
                out.push(S::If {
                    arms: vec![(c, vec![s])],
                    els: None,
                });
            }
            95..=97 => {
                let c = self.cond(1);
                let (e, b) = self.expr(2);
                self.ret_bound = self.ret_bound.max(b);
                self.returned = true;
                out.push(S::If {
                    arms: vec![(c, vec![S::Return(e)])],
                    els: None,
                });
            }
            _ => {
                let name = self.fresh("v");
                let c = self.cond(1);
                let (t, bt) = self.expr(2);
                let (e, be) = self.expr(2);
                out.push(S::LetDeferred {
                    name: name.clone(),
                    cond: c,
                    then: t,
                    els: e,
                });
                self.declare(&name, VarKind::Scalar, false, bt.max(be).max(1.0));
            }
        }
    }

    fn for_loop(&mut self, out: &mut Vec<S>) {
        let var = ["i", "j", "l"][self.loops.len()].to_string();
        let m = if self.has_m {
            Some(self.m_expr())
        } else {
            None
        };
        let (range, lt_m, iters) = match (self.rng.below(8), &m, &self.usize_param) {
            (0 | 1, Some(m), _) => (format!("0..{m}"), true, 6.0),
            (2, Some(m), _) => (format!("({}..{m}).rev()", 0), true, 6.0),
            (3, Some(m), _) => (format!("(0..{m}).step_by(2)"), true, 3.0),
            (4, Some(m), _) => (format!("1..{m}"), true, 5.0),
            (5, _, Some(n)) => (format!("0..{n}"), false, 4.0),
            (6, _, Some(n)) => (format!("1..={n}"), false, 4.0),
            _ => {
                let k = 2 + self.rng.below(3);
                if self.rng.chance(0.5) {
                    (format!("0..{k}"), false, k as f64)
                } else {
                    (format!("(0..{k}).rev()"), false, k as f64)
                }
            }
        };
        // At the function's top level, sometimes a sum the body only adds to.
        if self.scopes.len() == 1 && self.pending_sum.is_none() && self.rng.chance(0.35) {
            let name = self.fresh("sum");
            out.push(S::Let {
                name: name.clone(),
                mutable: true,
                typed: true,
                init: E::Lit(0.0),
            });
            self.pending_sum = Some((name, self.scopes.len() + 1, iters));
            if self.has_m && self.rng.chance(0.5) {
                self.n_vecs += 1;
                let name = format!("y{}", self.n_vecs - 1);
                out.push(S::VecDecl {
                    name: name.clone(),
                    init: VecInit::Zeros,
                });
                self.declare(&name, VarKind::Vector, true, 1.0);
                self.pending_scratch = Some((name, self.scopes.len() + 1));
            }
        }
        self.loops.push(Loop {
            var: Some(var.clone()),
            lt_m,
            iters,
            is_while: false,
        });
        let n = 1 + self.rng.below(4);
        let body = self.block(n);
        self.pending_sum = None;
        self.pending_scratch = None;
        self.loops.pop();
        out.push(S::For { var, range, body });
    }

    /// The final expression: a combination of a few scalars in scope.
    fn tail(&mut self) -> (E, f64) {
        let s = self.scalars();
        // Often a sum returned as it is, or through `+`/`-`: its adjoint is
        // known before its loop runs, which fuses the loop
        // (autodiff-macros/src/fuse.rs).
        if !self.sums.is_empty() && self.rng.chance(0.6) {
            let (name, bound) = self.sums[self.rng.below(self.sums.len())].clone();
            let mut e = E::Atom(name);
            let mut b = bound;
            if self.rng.chance(0.5) {
                let v = s[self.rng.below(s.len())].clone();
                let op = if self.rng.chance(0.5) { "+" } else { "-" };
                e = if self.rng.chance(0.5) {
                    E::Bin(Box::new(e), op, Box::new(E::Atom(v.name.clone())))
                } else {
                    E::Bin(Box::new(E::Atom(v.name.clone())), op, Box::new(e))
                };
                b += v.bound;
            }
            return (e, b);
        }
        let k = 1 + self.rng.below(3.min(s.len()));
        let mut picked: Vec<Var> = Vec::new();
        for _ in 0..k {
            let i = self.rng.below(s.len()).min(self.rng.below(s.len()));
            picked.push(s[i].clone());
        }
        let mut e = E::Atom(picked[0].name.clone());
        let mut b = picked[0].bound;
        for v in &picked[1..] {
            let a = E::Atom(v.name.clone());
            if self.rng.chance(0.6) {
                e = E::Bin(Box::new(e), "+", Box::new(a));
                b += v.bound;
            } else {
                e = E::Bin(Box::new(e), "*", Box::new(a));
                b *= v.bound;
            }
        }
        if self.rng.chance(0.3) {
            let (x, bx) = self.expr(2);
            e = E::Bin(Box::new(e), "+", Box::new(x));
            b += bx;
        }
        Self::squash(e, b)
    }
}

/// Generates program number `index` given the earlier ones (which it may call).
pub fn generate_one(rng: &mut Rng, index: usize, earlier: &[Program]) -> Program {
    let name = format!("p{index}");
    let scalar_names = ["a", "b", "c", "d"];
    let n_scalars = 2 + rng.below(3);
    let mut params: Vec<Param> = scalar_names[..n_scalars]
        .iter()
        .map(|n| Param {
            name: n.to_string(),
            kind: ParamKind::Scalar,
        })
        .collect();
    let has_slice = rng.chance(0.45);
    let slice_len = 3 + rng.below(4);
    if has_slice {
        let at = rng.below(params.len() + 1);
        params.insert(
            at,
            Param {
                name: "x".into(),
                kind: ParamKind::Slice,
            },
        );
    }
    let int_kind = match rng.below(6) {
        0 | 1 => Some(ParamKind::Usize),
        2 => Some(ParamKind::I32),
        _ => None,
    };
    if let Some(kind) = int_kind {
        let at = rng.below(params.len() + 1);
        let name = if kind == ParamKind::Usize { "n" } else { "k" };
        params.insert(
            at,
            Param {
                name: name.into(),
                kind,
            },
        );
    }

    let mut g = Gen {
        rng,
        helpers: earlier,
        scopes: vec![Vec::new()],
        loops: Vec::new(),
        has_m: false,
        slice: None,
        usize_param: None,
        i32_param: None,
        fresh: 0,
        n_vecs: 0,
        budget: 0,
        sums: Vec::new(),
        pending_sum: None,
        pending_scratch: None,
        callees: Vec::new(),
        ret_bound: 0.0,
        forbid_or: false,
        returned: false,
    };
    for p in &params {
        match p.kind {
            ParamKind::Scalar => g.declare(&p.name, VarKind::Scalar, false, SCALAR_DOMAIN.1),
            ParamKind::Slice => g.slice = Some(p.name.clone()),
            ParamKind::Usize => g.usize_param = Some(p.name.clone()),
            ParamKind::I32 => g.i32_param = Some(p.name.clone()),
        }
    }
    let mut body = Vec::new();
    // Vector length `m`: the slice's length, or a literal.
    if has_slice || g.rng.chance(0.3) {
        g.has_m = true;
        if has_slice {
            body.push(S::Raw("let m = x.len();".into()));
        } else {
            let m = 3 + g.rng.below(3);
            body.push(S::Raw(format!("let m: usize = {m};")));
        }
    }
    let n_stmts = 5 + g.rng.below(16);
    g.budget = n_stmts as isize;
    while g.budget > 0 {
        g.stmt(&mut body);
    }
    let (tail, tb) = g.tail();
    let ret_last = g.rng.chance(0.1);
    // A writer mixes its value into `out` (reading the old contents) or
    // overwrites `out` with it.
    let writer = g.rng.chance(0.2);
    let mixes = g.rng.chance(0.6);
    let out_bound = tb.max(g.ret_bound);
    let callees = g.callees.clone();

    let call_depth = callees
        .iter()
        .map(|&k| earlier[k].call_depth + 1)
        .max()
        .unwrap_or(0);

    let names: Vec<String> = earlier.iter().map(|p| p.name.clone()).collect();
    let sig: Vec<String> = params
        .iter()
        .map(|p| {
            let t = match p.kind {
                ParamKind::Scalar => "f64",
                ParamKind::Slice => "&[f64]",
                ParamKind::Usize => "usize",
                ParamKind::I32 => "i32",
            };
            format!("{}: {t}", p.name)
        })
        .collect();
    let mut sources = Vec::new();
    for kd in [false, true] {
        let pr = Printer {
            kd,
            names: &names,
            writer,
        };
        let mut s = String::new();
        let mut sig = sig.clone();
        if writer {
            sig.push("out: &mut [f64]".into());
        }
        let ret = if writer { "" } else { " -> f64" };
        if kd {
            sig.push("__kd: &mut Kd".into());
            let _ = writeln!(s, "fn {name}_kd({}){ret} {{", sig.join(", "));
        } else {
            let _ = writeln!(s, "#[grad]\nfn {name}({}){ret} {{", sig.join(", "));
        }
        pr.block(&mut s, &body, 1);
        if writer {
            let _ = writeln!(s, "    let tail_v: f64 = {};", pr.top(&tail));
            let _ = writeln!(s, "    for q in 0..out.len() {{");
            if mixes {
                let _ = writeln!(s, "        out[q] = 0.5 * out[q] + tail_v;");
                let _ = writeln!(s, "    }}");
                let _ = writeln!(s, "    out[0] *= tail_v.tanh();");
            } else {
                let _ = writeln!(s, "        out[q] = tail_v * (q as f64 + 1.0);");
                let _ = writeln!(s, "    }}");
            }
        } else if ret_last {
            let _ = writeln!(s, "    return {};", pr.top(&tail));
        } else {
            let _ = writeln!(s, "    {}", pr.top(&tail));
        }
        s.push_str("}\n");
        sources.push(s);
    }
    let kd_source = sources.pop().unwrap();
    let source = sources.pop().unwrap();
    Program {
        index,
        name,
        params,
        slice_len,
        source,
        kd_source,
        callees,
        out_bound,
        call_depth,
        writer,
    }
}

/// Generates `count` programs from `seed`; program `k` may call programs `< k`.
pub fn generate(seed: u64, count: usize) -> Vec<Program> {
    let mut rng = Rng::new(seed);
    let mut out: Vec<Program> = Vec::with_capacity(count);
    for k in 0..count {
        let p = generate_one(&mut rng, k, &out);
        out.push(p);
    }
    out
}

/// The source of program `k` preceded by every program it calls, directly or
/// not: a self-contained reproduction.
pub fn full_source(programs: &[Program], k: usize) -> String {
    let mut order = Vec::new();
    fn visit(ps: &[Program], k: usize, order: &mut Vec<usize>) {
        if order.contains(&k) {
            return;
        }
        for &c in &ps[k].callees {
            visit(ps, c, order);
        }
        order.push(k);
    }
    visit(programs, k, &mut order);
    order
        .iter()
        .map(|&i| programs[i].source.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Flat layout of a program's differentiable inputs: one `(lo, hi)` per
/// component, scalars and slice elements in parameter order.
pub fn domains(p: &Program) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for q in &p.params {
        match q.kind {
            ParamKind::Scalar => out.push(SCALAR_DOMAIN),
            ParamKind::Slice => out.extend(std::iter::repeat_n(SLICE_DOMAIN, p.slice_len)),
            _ => {}
        }
    }
    if p.writer {
        out.extend(std::iter::repeat_n(SLICE_DOMAIN, WRITER_OUT_LEN));
    }
    out
}

/// A writer's wrappers: its value is `⟨WRITER_COTANGENT, out_final⟩` with
/// `out` starting at the inputs `f[at..]`, its gradient `pK_pullback` at
/// that cotangent (the parameters' gradients `grads`, each a vector or not,
/// then `out`'s).
fn emit_writer_harness(s: &mut String, n: &str, a: &str, at: usize, grads: &[(String, bool)]) {
    let end = at + WRITER_OUT_LEN;
    let w = format!("{WRITER_COTANGENT:?}");
    let dot = format!(
        "let w = {w}; let mut s = 0.0; for q in 0..{WRITER_OUT_LEN} {{ s += w[q] * out[q]; }}"
    );
    let _ = writeln!(
        s,
        "fn {n}_w(f: &[f64], z: &[i64]) -> f64 {{ let mut out = f[{at}..{end}].to_vec(); {n}({a}, &mut out); {dot} s }}"
    );
    let _ = writeln!(
        s,
        "fn {n}_k(f: &[f64], z: &[i64]) -> (f64, f64, u64) {{ let mut kd = Kd {{ d: f64::INFINITY, sig: 0 }}; let mut out = f[{at}..{end}].to_vec(); {n}_kd({a}, &mut out, &mut kd); {dot} (s, kd.d, kd.sig) }}"
    );
    let mut pat: Vec<&str> = grads.iter().map(|g| g.0.as_str()).collect();
    pat.push("gout");
    let push = push_grads(grads);
    let _ = writeln!(
        s,
        "fn {n}_g(f: &[f64], z: &[i64]) -> (f64, Vec<f64>) {{ let v = {n}_w(f, z); let ({}) = {n}_pullback({a}, &f[{at}..{end}], &{w}); let mut out = Vec::new(); {push}out.extend_from_slice(&gout); (v, out) }}\n",
        pat.join(", "),
    );
}

/// Statements appending the gradients `grads` (each a vector or a number)
/// to a flat `out`, in order.
fn push_grads(grads: &[(String, bool)]) -> String {
    let mut push = String::new();
    for (g, is_vec) in grads {
        if *is_vec {
            let _ = write!(push, "out.extend_from_slice(&{g}); ");
        } else {
            let _ = write!(push, "out.push({g}); ");
        }
    }
    push
}

/// Writes the whole test module: programs, instrumented twins, wrappers
/// taking flat inputs, and the `PROGRAMS` table.
pub fn emit_module(seed: u64, programs: &[Program]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// Generated by autodiff-fuzz from seed {seed}, {} programs.\n",
        programs.len()
    );
    s.push_str(
        "/// Smallest distance to a kink seen so far, and the branch signature.\n\
         pub struct Kd { pub d: f64, pub sig: u64 }\n\n\
         fn __kink(kd: &mut Kd, d: f64, outcome: bool) {\n\
         \x20   // An exact tie is almost always between constants (`(i as f64) > 1.0`);\n\
         \x20   // a real one would show up as a changed signature under the probes.\n\
         \x20   if d != 0.0 && d.abs() < kd.d { kd.d = d.abs(); }\n\
         \x20   kd.sig = kd.sig.wrapping_mul(0x100000001b3) ^ (outcome as u64 + 1);\n\
         }\n\n\
         pub struct Entry {\n\
         \x20   pub name: &'static str,\n\
         \x20   pub source: &'static str,\n\
         \x20   pub domains: &'static [(f64, f64)],\n\
         \x20   pub ints: &'static [(i64, i64)],\n\
         \x20   pub value: fn(&[f64], &[i64]) -> f64,\n\
         \x20   pub kink: fn(&[f64], &[i64]) -> (f64, f64, u64),\n\
         \x20   pub grad: fn(&[f64], &[i64]) -> (f64, Vec<f64>),\n\
         }\n\n",
    );
    let _ = writeln!(s, "pub const SEED: u64 = {seed};\n");
    for p in programs {
        s.push_str(&p.source);
        s.push('\n');
        s.push_str(&p.kd_source);
        s.push('\n');
        // Argument list from flat inputs f and ints z.
        let mut args = Vec::new();
        let mut fi = 0;
        let mut zi = 0;
        let mut grads = Vec::new();
        for q in &p.params {
            match q.kind {
                ParamKind::Scalar => {
                    args.push(format!("f[{fi}]"));
                    grads.push((format!("g{}", grads.len()), false));
                    fi += 1;
                }
                ParamKind::Slice => {
                    args.push(format!("&f[{fi}..{}]", fi + p.slice_len));
                    grads.push((format!("g{}", grads.len()), true));
                    fi += p.slice_len;
                }
                ParamKind::Usize => {
                    args.push(format!("z[{zi}] as usize"));
                    zi += 1;
                }
                ParamKind::I32 => {
                    args.push(format!("z[{zi}] as i32"));
                    zi += 1;
                }
            }
        }
        let a = args.join(", ");
        let n = &p.name;
        if p.writer {
            emit_writer_harness(&mut s, n, &a, fi, &grads);
            continue;
        }
        let _ = writeln!(s, "fn {n}_w(f: &[f64], z: &[i64]) -> f64 {{ {n}({a}) }}");
        let _ = writeln!(
            s,
            "fn {n}_k(f: &[f64], z: &[i64]) -> (f64, f64, u64) {{ let mut kd = Kd {{ d: f64::INFINITY, sig: 0 }}; let v = {n}_kd({a}, &mut kd); (v, kd.d, kd.sig) }}"
        );
        let pat = if grads.len() == 1 {
            grads[0].0.clone()
        } else {
            format!(
                "({})",
                grads
                    .iter()
                    .map(|g| g.0.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let push = push_grads(&grads);
        let _ = writeln!(
            s,
            "fn {n}_g(f: &[f64], z: &[i64]) -> (f64, Vec<f64>) {{ let (v, {pat}) = {n}_grad({a}); let mut out = Vec::new(); {push}(v, out) }}\n"
        );
    }
    s.push_str("pub static PROGRAMS: &[Entry] = &[\n");
    for p in programs {
        let src = full_source(programs, p.index);
        let doms: Vec<String> = domains(p)
            .iter()
            .map(|(l, h)| format!("({l:?}, {h:?})"))
            .collect();
        let ints: Vec<String> = p
            .params
            .iter()
            .filter_map(|q| match q.kind {
                ParamKind::Usize => Some(format!("({}, {})", USIZE_RANGE.0, USIZE_RANGE.1)),
                ParamKind::I32 => Some(format!("({}, {})", I32_RANGE.0, I32_RANGE.1)),
                _ => None,
            })
            .collect();
        let n = &p.name;
        let _ = writeln!(
            s,
            "    Entry {{ name: \"{n}\", source: r####\"{src}\"####, domains: &[{}], ints: &[{}], value: {n}_w, kink: {n}_k, grad: {n}_g }},",
            doms.join(", "),
            ints.join(", ")
        );
    }
    s.push_str("];\n");
    s
}
