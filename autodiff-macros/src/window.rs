//! Loop windows: bounds checks taken out of the loops that walk a vector.
//!
//! `for j in a..b { y[j] += l[li] * x; li += 1; }` checks `j` against
//! `y.len()` and `li` against `l.len()` on every iteration, in the forward
//! copy and again in the reverse (which adds `grad_l[li]` and reads
//! `grad_y[j]`): at GMM's d = 32 the checks were half the instructions of
//! its triangular loops, and they keep the loops from vectorising. When
//! every iteration touches `y[j]` (a statement of the body, not a branch),
//! the loop visits exactly `y[a..b]`, so the generated code takes that
//! window once (`__rt::window`, which fails as the first bad index would)
//! and indexes it by the iteration number, which the compiler can prove in
//! bounds. The same holds for a counter stepped by one once per iteration
//! (`li`): before its step, it is its value at the loop's start plus the
//! iteration number.
//!
//! The rewrite works on the generated tokens, after both sweeps have
//! written the loop, so the forward copy, the reverse and the saves in them
//! are treated alike: a vector gets a window only when every mention of it
//! in the body is `v[i]` for the same index `i`.

use crate::ir::{Function, Kind, Loop, LoopHead, Op, Operand, Stmt};
use crate::plan::Plan;
use crate::reverse::operand_tokens;
use crate::rules::Prim;
use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use std::collections::{HashMap, HashSet};

/// Which sweep's copy of the loop is being rewritten.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    Forward,
    Reverse,
}

/// What a window-eligible loop runs over, from the IR.
pub struct Walk {
    /// The loop variable and the range's start, when the loop binds one.
    pub var: Option<(Ident, TokenStream)>,
    /// The unit counters: `(counter, its step as the sweep writes it)`.
    counters: Vec<(Ident, String)>,
    /// Names the hygienic locals of this loop's window code.
    id: usize,
}

/// The loop's walk, when it has one: `for i in a..b` or `a..=b` (forward,
/// step one) whose body runs to its end on every iteration (no `break`).
pub fn walk(f: &Function, plan: &Plan, l: &Loop, sweep: Sweep) -> Option<Walk> {
    let LoopHead::For {
        var,
        iter:
            crate::ir::IterSpec::Range {
                start,
                rev: false,
                step: None,
                ..
            },
    } = &l.head
    else {
        return None;
    };
    if l.body.stmts.iter().any(|s| matches!(s, Stmt::BreakIf(_))) {
        return None;
    }
    let var = var.map(|v| (f.vars[v.0].ident.clone(), operand_tokens(f, start)));
    Some(Walk {
        var,
        counters: unit_counters(f, plan, l, sweep),
        id: l.counter.0,
    })
}

/// Counters the body steps by one in a statement of its own (`c += 1`,
/// lowered to `c_1 = c + 1; c = c_1;`) and writes nowhere else, with the
/// step as the sweep writes it: the forward's `c = c_1;`, the reverse's
/// undo `c = c - 1;`.
fn unit_counters(f: &Function, plan: &Plan, l: &Loop, sweep: Sweep) -> Vec<(Ident, String)> {
    let mut out = Vec::new();
    for (k, pair) in l.body.stmts.windows(2).enumerate() {
        let (Stmt::Assign(def), Stmt::Assign(copy)) = (&pair[0], &pair[1]) else {
            continue;
        };
        let c = copy.dest;
        let Some(undo) = plan.invertible.get(&(c, def.dest)) else {
            continue;
        };
        let unit = def.op == Op::Prim(Prim::Add)
            && matches!(&def.args[..], [_, Operand::Const(k)] if k.int == Some(1));
        let written_elsewhere = l.body.stmts.iter().enumerate().any(|(j, s)| {
            let mut w = HashSet::new();
            s.writes(&mut w);
            j != k + 1 && w.contains(&c)
        });
        if !unit || written_elsewhere {
            continue;
        }
        let x = &f.vars[c.0].ident;
        let step = match sweep {
            Sweep::Forward => {
                let y = &f.vars[def.dest.0].ident;
                quote!(#x = #y;)
            }
            Sweep::Reverse => undo.clone(),
        };
        out.push((x.clone(), step.to_string()));
    }
    out
}

/// The float vectors a body may index, by name: the function's vectors and,
/// in the reverse, their adjoints.
pub fn vectors(f: &Function, grads: Option<&HashMap<crate::ir::VarId, Ident>>) -> HashSet<String> {
    let mut out = HashSet::new();
    for (i, var) in f.vars.iter().enumerate() {
        if var.kind == Kind::Vector {
            out.insert(var.ident.to_string());
            if let Some(g) = grads.and_then(|g| g.get(&crate::ir::VarId(i))) {
                out.insert(g.to_string());
            }
        }
    }
    out
}

/// One mention of a vector in the body.
struct Mention {
    /// The position of the body's top-level token that holds it.
    at: usize,
    /// Not inside a block (`{ .. }`): runs on every iteration.
    every_time: bool,
    /// `v[i]` with a single identifier `i`: that identifier.
    index: Option<String>,
    /// Written through (`v[i] = ..`, `+=`, .., `&mut v[i]`).
    writes: bool,
}

/// The loop `for <var> in <iter> { body }` with windows, or `None` when no
/// vector qualifies. `count` is the iteration count (evaluated once before
/// the loop); the forward passes `iter`, the reverse `None` (its iterations
/// run last first).
pub fn rewrite(
    walk: &Walk,
    sweep: Sweep,
    body: &[TokenStream],
    vectors: &HashSet<String>,
    count: &TokenStream,
    iter: Option<&TokenStream>,
) -> Option<TokenStream> {
    let tts: Vec<TokenTree> = body.iter().flat_map(|t| t.clone()).collect();
    let span = Span::mixed_site();
    let at = Ident::new(&format!("window_at_{}", walk.id), span);
    let n = Ident::new(&format!("window_count_{}", walk.id), span);
    let start = Ident::new(&format!("window_start_{}", walk.id), span);
    let (tts, view_lens) = match &walk.var {
        Some((x, _)) => view_positions(&tts, x),
        None => (tts, Vec::new()),
    };

    // The indices a window can replace, with where each may be read: a
    // counter only on its side of its step.
    let mut axes: HashMap<String, (TokenStream, Option<(usize, bool)>)> = HashMap::new();
    if let Some((x, _)) = &walk.var {
        axes.insert(x.to_string(), (start.to_token_stream(), None));
    }
    for (c, step) in &walk.counters {
        let Some(p) = find_statement(&tts, step) else {
            continue;
        };
        let origin = match sweep {
            Sweep::Forward => c.to_token_stream(),
            Sweep::Reverse => quote!(#c - #n),
        };
        axes.insert(c.to_string(), (origin, Some((p, sweep == Sweep::Forward))));
    }
    if let Some((x, _)) = &walk.var {
        for (t, base, p) in offsets(&tts, x, &walk.counters) {
            let origin = quote!(if #n > 0 { #start + (#base) } else { 0 });
            axes.insert(t, (origin, Some((p, false))));
        }
    }

    let mut mentions: Vec<(Ident, Mention)> = Vec::new();
    for (k, tt) in tts.iter().enumerate() {
        collect(&tts, k, tt, k, true, vectors, &mut mentions);
    }
    let mut chosen: Vec<(Ident, String, bool)> = Vec::new();
    let mut seen = HashSet::new();
    for (v, _) in &mentions {
        let name = v.to_string();
        if !seen.insert(name.clone()) {
            continue;
        }
        let all: Vec<&Mention> = mentions
            .iter()
            .filter(|(w, _)| *w == name)
            .map(|(_, m)| m)
            .collect();
        let Some(ix) = all[0].index.clone() else {
            continue;
        };
        let Some((_, side)) = axes.get(&ix) else {
            continue;
        };
        let same = all.iter().all(|m| m.index.as_deref() == Some(ix.as_str()));
        let on_side = all.iter().all(|m| match side {
            None => true,
            Some((p, true)) => m.at < *p,
            Some((p, false)) => m.at > *p,
        });
        if same && on_side && all.iter().any(|m| m.every_time) {
            chosen.push((v.clone(), ix, all.iter().any(|m| m.writes)));
        }
    }
    if chosen.is_empty() {
        return None;
    }

    let names: HashMap<String, String> = chosen
        .iter()
        .map(|(v, ix, _)| (v.to_string(), ix.clone()))
        .collect();
    let body = indexed_by(&tts, &names, &at);
    let rt = quote!(::autodiff::__rt);
    let lets = chosen.iter().map(|(v, ix, writes)| {
        let origin = &axes[ix].0;
        if *writes {
            quote!(let #v = #rt::window_mut(&mut #v[..], #origin, #n);)
        } else {
            quote!(let #v = #rt::window(&#v[..], #origin, #n);)
        }
    });
    let by_var = walk
        .var
        .as_ref()
        .is_some_and(|(x, _)| chosen.iter().any(|(_, ix, _)| x == ix));
    let order = match sweep {
        Sweep::Forward => quote!(0..#n),
        Sweep::Reverse => quote!((0..#n).rev()),
    };
    // The loop variable's `let`, where the loop is by it and the body still
    // reads it (an index is a `usize`, so the variable is `start + at`).
    let var_let = match (&walk.var, by_var) {
        (Some((x, _)), true) => {
            let mut read = HashSet::new();
            crate::reverse::idents_in(&body, &mut read);
            read.contains(&x.to_string())
                .then(|| quote!(let #x = #start + #at;))
        }
        _ => None,
    };
    let head = match (&walk.var, by_var) {
        (Some(_), true) => quote!(for #at in #order { #var_let #body }),
        (Some((x, s)), false) => {
            let vars = match iter {
                Some(it) => it.clone(),
                None => quote!(#rt::rev_range(#s, #n)),
            };
            let (a, b) = match sweep {
                Sweep::Forward => (quote!(#at), quote!(#x)),
                Sweep::Reverse => (quote!(#x), quote!(#at)),
            };
            let pairs = match sweep {
                Sweep::Forward => quote!(::core::iter::Iterator::zip(#order, #vars)),
                Sweep::Reverse => quote!(::core::iter::Iterator::zip(#vars, #order)),
            };
            quote!(for (#a, #b) in #pairs { #body })
        }
        (None, _) => quote!(for #at in #order { #body }),
    };
    let distributable = sweep == Sweep::Reverse && (walk.var.is_none() || by_var);
    let windows: HashMap<String, (Ident, bool)> = chosen
        .iter()
        .map(|(v, _, writes)| (v.to_string(), (v.clone(), *writes)))
        .collect();
    let frame = crate::distribute::Frame {
        at: &at,
        n: &n,
        windows: &windows,
        vectors,
        counters: &walk.counters,
    };
    let head = match distributable
        .then(|| crate::distribute::split(&frame, var_let.as_ref(), &body))
        .flatten()
    {
        Some(split) => {
            let min = crate::distribute::min_count();
            // The single loop first: written the other way round, the
            // d = 10 GMM gradient (which never splits) ran 4 to 8 % slower.
            quote!(if #n < #min { #head } else { #split })
        }
        None => head,
    };
    let start_let = walk.var.as_ref().map(|(_, s)| quote!(let #start = #s;));
    let view_checks = view_lens
        .iter()
        .map(|len| quote!(#rt::view_covers(#start, #n, #len);));
    Some(quote!({
        let #n = #count;
        #start_let
        #(#view_checks)*
        #(#lets)*
        #head
    }))
}

/// A sub-slice binding's positions `let t = __rt::view_index(b, x, len);`
/// (see [`crate::lower`]'s views) for the loop variable `x`, with `b` and
/// `len` not assigned in the body, rewritten to `let t = b + x;`: the loop
/// visits `x = start .. start + n`, so one check before it (returned: the
/// `len` of each) that `start + n <= len` stands for every iteration's, and
/// the index becomes the base-plus-variable shape [`offsets`] windows. Only
/// top-level statements are rewritten: every iteration runs those.
fn view_positions(tts: &[TokenTree], x: &Ident) -> (Vec<TokenTree>, Vec<Ident>) {
    let assigned = assigned(tts);
    let stable = |i: &Ident| !assigned.contains(&i.to_string()) && i != x;
    let call: Vec<String> = quote!(::autodiff::__rt::view_index)
        .into_iter()
        .map(|t| t.to_string())
        .collect();
    let mut out = Vec::with_capacity(tts.len());
    let mut lens: Vec<Ident> = Vec::new();
    let mut k = 0;
    while k < tts.len() {
        let starts = k == 0 || matches!(&tts[k - 1], TokenTree::Punct(p) if p.as_char() == ';');
        let rhs = k + 3;
        let head_matches = starts
            && matches!(&tts[k], TokenTree::Ident(i) if i == "let")
            && matches!(tts.get(k + 1), Some(TokenTree::Ident(_)))
            && matches!(tts.get(k + 2), Some(TokenTree::Punct(p)) if p.as_char() == '=')
            && tts.len() > rhs + call.len()
            && tts[rhs..rhs + call.len()]
                .iter()
                .zip(&call)
                .all(|(t, c)| t.to_string() == *c);
        let args = match tts.get(rhs + call.len()) {
            Some(TokenTree::Group(g))
                if head_matches && g.delimiter() == Delimiter::Parenthesis =>
            {
                g.stream().into_iter().collect::<Vec<_>>()
            }
            _ => Vec::new(),
        };
        let semi = matches!(tts.get(rhs + call.len() + 1), Some(TokenTree::Punct(p)) if p.as_char() == ';');
        if let (
            true,
            [TokenTree::Ident(b), TokenTree::Punct(c1), TokenTree::Ident(v), TokenTree::Punct(c2), TokenTree::Ident(len)],
        ) = (semi, &args[..])
        {
            if c1.as_char() == ',' && c2.as_char() == ',' && v == x && stable(b) && stable(len) {
                out.extend(tts[k..rhs].iter().cloned());
                out.extend(quote!(#b + #v));
                if !lens.contains(len) {
                    lens.push(len.clone());
                }
                k = rhs + call.len() + 1;
                continue;
            }
        }
        out.push(tts[k].clone());
        k += 1;
    }
    (out, lens)
}

/// Indices that are the loop variable plus a base every iteration computes
/// alike: `let t = b + x;` (or `x + b`) where `b` is named in the body by
/// no assignment, or is `let b = e;` over such names only (`let t13 = ix *
/// d; let t14 = t13 + id;`, the flattened `x[ix * d + id]`). Returns each
/// index, its base as code the loop's prelude can evaluate, and the position
/// of its `let` (a read of the index comes after it).
fn offsets(
    tts: &[TokenTree],
    x: &Ident,
    counters: &[(Ident, String)],
) -> Vec<(String, TokenStream, usize)> {
    let assigned = assigned(tts);
    let stable = |name: &str| {
        !assigned.contains(name) && *x != name && counters.iter().all(|(c, _)| *c != name)
    };
    // `let <name> = <tokens> ;` at the top level: (name, tokens, position).
    let mut lets: Vec<(String, &[TokenTree], usize)> = Vec::new();
    for k in 0..tts.len() {
        let starts = k == 0 || matches!(&tts[k - 1], TokenTree::Punct(p) if p.as_char() == ';');
        let (
            true,
            Some(TokenTree::Ident(kw)),
            Some(TokenTree::Ident(name)),
            Some(TokenTree::Punct(eq)),
        ) = (starts, tts.get(k), tts.get(k + 1), tts.get(k + 2))
        else {
            continue;
        };
        if kw != "let" || eq.as_char() != '=' || eq.spacing() != proc_macro2::Spacing::Alone {
            continue;
        }
        let Some(end) = (k + 3..tts.len())
            .find(|&j| matches!(&tts[j], TokenTree::Punct(p) if p.as_char() == ';'))
        else {
            continue;
        };
        lets.push((name.to_string(), &tts[k + 3..end], k));
    }
    let mut out = Vec::new();
    for (t, rhs, p) in &lets {
        let base = match rhs {
            [TokenTree::Ident(a), TokenTree::Punct(plus), TokenTree::Ident(b)]
                if plus.as_char() == '+' && (a == x || b == x) && a != b =>
            {
                if a == x {
                    b
                } else {
                    a
                }
            }
            _ => continue,
        };
        let name = base.to_string();
        let code = if stable(&name) {
            base.to_token_stream()
        } else {
            // Defined once, before the index, by arithmetic on stable names.
            let defs: Vec<_> = lets.iter().filter(|(n, _, _)| *n == name).collect();
            let [(_, e, q)] = defs[..] else {
                continue;
            };
            let arithmetic = e.iter().all(|tt| match tt {
                TokenTree::Ident(i) => i == "as" || i == "usize" || stable(&i.to_string()),
                TokenTree::Literal(_) => true,
                TokenTree::Punct(p) => "+-*/%".contains(p.as_char()),
                TokenTree::Group(_) => false,
            });
            if !arithmetic || q > p || e.is_empty() {
                continue;
            }
            e.iter().cloned().collect()
        };
        out.push((t.clone(), code, *p));
    }
    out
}

/// The names `tts` assign or declare anywhere: `let n`, `n = ..`, `n += ..`,
/// `&mut n`.
fn assigned(tts: &[TokenTree]) -> HashSet<String> {
    let mut out = HashSet::new();
    for (k, tt) in tts.iter().enumerate() {
        match tt {
            TokenTree::Group(g) => {
                let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                out.extend(assigned(&inner));
            }
            TokenTree::Ident(i) => {
                let declared =
                    k > 0 && matches!(&tts[k - 1], TokenTree::Ident(p) if p == "let" || p == "mut");
                if declared || assignment_at(tts, k + 1) {
                    out.insert(i.to_string());
                }
            }
            _ => {}
        }
    }
    out
}

/// The top-level position where the statement `step` (as a string of
/// tokens) begins, when it appears exactly once.
fn find_statement(tts: &[TokenTree], step: &str) -> Option<usize> {
    let len = step.parse::<TokenStream>().ok()?.into_iter().count();
    let found: Vec<usize> = (0..tts.len().saturating_sub(len - 1))
        .filter(|&k| {
            let s: TokenStream = tts[k..k + len].iter().cloned().collect();
            s.to_string() == step
        })
        .collect();
    match found[..] {
        [p] => Some(p),
        _ => None,
    }
}

/// Records the mention at `tts[k]` (a token of the sequence `tts`, at depth
/// `outer` of the body), and those nested in it.
fn collect(
    tts: &[TokenTree],
    k: usize,
    tt: &TokenTree,
    outer: usize,
    every_time: bool,
    vectors: &HashSet<String>,
    out: &mut Vec<(Ident, Mention)>,
) {
    match tt {
        TokenTree::Group(g) => {
            let inner: Vec<TokenTree> = g.stream().into_iter().collect();
            let every_time = every_time && g.delimiter() != Delimiter::Brace;
            for (j, t) in inner.iter().enumerate() {
                collect(&inner, j, t, outer, every_time, vectors, out);
            }
        }
        TokenTree::Ident(i) if vectors.contains(&i.to_string()) => {
            if member_at(tts, k) {
                return;
            }
            let index = match tts.get(k + 1) {
                Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Bracket => {
                    let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                    match &inner[..] {
                        [TokenTree::Ident(ix)] => Some(ix.to_string()),
                        _ => None,
                    }
                }
                _ => None,
            };
            let assigned = assignment_at(tts, k + 2);
            let by_mut = k > 0 && matches!(&tts[k - 1], TokenTree::Ident(m) if m == "mut");
            out.push((
                i.clone(),
                Mention {
                    at: outer,
                    every_time,
                    index,
                    writes: assigned || by_mut,
                },
            ));
        }
        _ => {}
    }
}

/// Whether `tts[k..]` starts with `=` (not `==`) or a compound assignment
/// (`+=`, `-=`, `*=`, `/=`, `%=`).
fn assignment_at(tts: &[TokenTree], k: usize) -> bool {
    match (tts.get(k), tts.get(k + 1)) {
        (Some(TokenTree::Punct(p)), _) if p.as_char() == '=' => {
            p.spacing() == proc_macro2::Spacing::Alone
        }
        (Some(TokenTree::Punct(p)), Some(TokenTree::Punct(q))) => {
            "+-*/%".contains(p.as_char())
                && p.spacing() == proc_macro2::Spacing::Joint
                && q.as_char() == '='
        }
        _ => false,
    }
}

/// Whether the identifier at `tts[k]` names a field, method or path
/// segment (`a.v`, `m::v`), not a variable: neither a mention of a vector
/// nor one to rewrite.
fn member_at(tts: &[TokenTree], k: usize) -> bool {
    k > 0 && matches!(&tts[k - 1], TokenTree::Punct(p) if p.as_char() == '.' || p.as_char() == ':')
}

/// `tts` with `v[i]` rewritten to `v[at]` for the vectors in `names` (name
/// → its index `i`); `at` is any index (a lane's literal, in `distribute`).
pub fn indexed_by(
    tts: &[TokenTree],
    names: &HashMap<String, String>,
    at: &impl ToTokens,
) -> TokenStream {
    let mut out = Vec::new();
    let mut k = 0;
    while k < tts.len() {
        match &tts[k] {
            TokenTree::Ident(i) if names.contains_key(&i.to_string()) && !member_at(tts, k) => {
                out.push(tts[k].clone());
                if let Some(TokenTree::Group(g)) = tts.get(k + 1) {
                    if g.delimiter() == Delimiter::Bracket
                        && g.stream().to_string() == names[&i.to_string()]
                    {
                        let mut ng = Group::new(Delimiter::Bracket, at.to_token_stream());
                        ng.set_span(g.span());
                        out.push(TokenTree::Group(ng));
                        k += 1;
                    }
                }
            }
            TokenTree::Group(g) => {
                let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                let mut ng = Group::new(g.delimiter(), indexed_by(&inner, names, at));
                ng.set_span(g.span());
                out.push(TokenTree::Group(ng));
            }
            other => out.push(other.clone()),
        }
        k += 1;
    }
    out.into_iter().collect()
}
