//! Distributed reverse loops: a windowed reverse loop that both adds into
//! a window element by element and sums into a scalar, run as two loops.
//!
//! The reverse of an axpy, `for j in a..b { y[j] += l[li] * x[i]; li += 1; }`
//! (GMM's triangular product), adds `grad_y[j] * x[i]` into `grad_l[li]` and
//! sums `grad_y[j] * l[li]` into `x[i]`'s adjoint. In one loop the sum is a
//! serial floating-point chain, and it keeps the whole loop, the axpy too,
//! from vectorising: at GMM's d = 64 this loop was three quarters of the
//! gradient. Its iterations are independent apart from the sums (every write
//! is to the iteration's own element of a window), so they may run in any
//! order: the sums first, each with four partial sums over blocks of four
//! iterations, then the element writes in a forward loop the compiler
//! vectorises. Rows shorter than [`MIN_COUNT`] keep the single reversed
//! loop, which is faster there.
//!
//! The partial sums reassociate the sum, so its rounding differs from the
//! single loop's (by a few units in the last place); nothing else changes.
//!
//! The rewrite is on the windowed body's tokens and accepts only what it can
//! read completely: `let` of arithmetic on plain names, window elements and
//! elements at an index the loop does not change, element writes to a
//! window, sums (`s += e` where nothing else in the body names `s`), and the
//! unit counters' steps. Anything else (a call, a method other than a pure
//! float function, a branch, a tape) leaves the loop as it was.

use proc_macro2::{Delimiter, Ident, Spacing, TokenStream, TokenTree};
use quote::{format_ident, quote};
use std::collections::{HashMap, HashSet};

/// The shortest row the distributed form runs on. At GMM's d = 10 (rows of
/// at most 9) splitting rows of 8 and 9 made the gradient 2 to 3 % slower;
/// at d = 20 and 32 a threshold of 8, 12 or 16 measured the same.
pub const MIN_COUNT: usize = 12;

/// [`MIN_COUNT`], or `AUTODIFF_DISTRIBUTE_MIN` where the build sets it: the
/// fuzzer (`autodiff-fuzz`) sets 1, so that its programs, whose vectors are
/// 3 to 6 long, take the distributed form wherever it applies. A knob for
/// testing the rewrite, not for tuning: cargo does not rebuild a crate when
/// it changes (the fuzzer's build script does).
pub fn min_count() -> usize {
    std::env::var("AUTODIFF_DISTRIBUTE_MIN")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(MIN_COUNT)
}

/// Float methods without side effects, which a `let` may call.
const PURE_METHODS: &[&str] = &[
    "abs", "acos", "asin", "atan", "atan2", "cos", "cosh", "exp", "exp_m1", "ln", "ln_1p", "log10",
    "log2", "max", "min", "mul_add", "powf", "powi", "recip", "signum", "sin", "sinh", "sqrt",
    "tan", "tanh",
];

/// The loop a windowed reverse body belongs to.
pub struct Frame<'a> {
    /// The iteration number (`window_at_N`), which indexes every window.
    pub at: &'a Ident,
    /// The iteration count (`window_count_N`).
    pub n: &'a Ident,
    /// The windows, by name: the identifier (its span, hence its hygiene,
    /// included) and whether the body writes through it.
    pub windows: &'a HashMap<String, (Ident, bool)>,
    /// Every vector the body may index.
    pub vectors: &'a HashSet<String>,
    /// The unit counters and their reverse steps, as strings of tokens.
    pub counters: &'a [(Ident, String)],
}

/// One top-level statement of the body.
enum Stmt {
    /// `let name = expr;` or `let mut name = expr;`
    Let { name: String, tokens: TokenStream },
    /// `name += expr;` or `name -= expr;` to an earlier `let mut` of the body
    /// (a fan-out adjoint's later terms).
    Update { name: String, tokens: TokenStream },
    /// `w[at] (=|+=|-=) expr;` for a window `w`.
    Write { window: String, tokens: TokenStream },
    /// `acc += expr;` or `acc -= expr;`
    Sum {
        acc: Ident,
        minus: bool,
        expr: TokenStream,
        tokens: TokenStream,
    },
    /// A unit counter's step.
    Step { counter: Ident, tokens: TokenStream },
}

impl Stmt {
    /// The statement as the body wrote it.
    fn tokens(&self) -> &TokenStream {
        match self {
            Stmt::Let { tokens, .. }
            | Stmt::Update { tokens, .. }
            | Stmt::Write { tokens, .. }
            | Stmt::Sum { tokens, .. }
            | Stmt::Step { tokens, .. } => tokens,
        }
    }

    /// The name a sum or a step assigns, which nothing else may name.
    fn subject(&self) -> Option<&Ident> {
        match self {
            Stmt::Sum { acc, .. } => Some(acc),
            Stmt::Step { counter, .. } => Some(counter),
            _ => None,
        }
    }
}

/// What an expression reads.
#[derive(Default)]
struct Reads {
    names: HashSet<String>,
    vectors: HashSet<String>,
}

/// The distributed form of the loop `for at in (0..n).rev() { body }`, or
/// `None` when the body has no sum or is not one this module can read.
/// `prelude` is code each iteration runs first (the loop variable's `let`).
pub fn split(
    frame: &Frame,
    prelude: Option<&TokenStream>,
    body: &TokenStream,
) -> Option<TokenStream> {
    let tts: Vec<TokenTree> = prelude
        .into_iter()
        .flat_map(|p| p.clone())
        .chain(body.clone())
        .collect();
    let stmts = statements(frame, &tts)?;
    let sums: Vec<usize> = (0..stmts.len())
        .filter(|&k| matches!(stmts[k].0, Stmt::Sum { .. }))
        .collect();
    if sums.is_empty() {
        return None;
    }
    // Only the lets and the counters' steps assign; a sum's accumulator and a
    // counter must appear nowhere else, and an index other than `at` must be
    // one the body does not assign, into a vector it does not write.
    let lets: HashSet<&str> = stmts
        .iter()
        .filter_map(|(s, _)| match s {
            Stmt::Let { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let mut named: HashMap<String, usize> = HashMap::new();
    count_idents(&tts, &mut named);
    let mut own: HashMap<String, usize> = HashMap::new();
    for (s, _) in &stmts {
        if let Some(x) = s.subject() {
            let mut here = HashMap::new();
            count_idents(
                &s.tokens().clone().into_iter().collect::<Vec<_>>(),
                &mut here,
            );
            let x = x.to_string();
            *own.entry(x.clone()).or_default() += here.get(&x).copied().unwrap_or(0);
        }
    }
    for (x, k) in &own {
        if named.get(x) != Some(k) || lets.contains(x.as_str()) || frame.vectors.contains(x) {
            return None;
        }
    }
    let written: HashSet<&str> = stmts
        .iter()
        .filter_map(|(s, _)| match s {
            Stmt::Write { window, .. } => Some(window.as_str()),
            _ => None,
        })
        .collect();
    if !invariant_indices(frame, &tts, &lets, &written) {
        return None;
    }

    // The sums run first: what they read must be what the iteration read,
    // so no window they read is written before the read.
    let sum_slice = slice(&stmts, |s| matches!(s, Stmt::Sum { .. }));
    for &k in &sum_slice {
        for v in &stmts[k].1.vectors {
            let early_write = stmts[..k]
                .iter()
                .any(|(s, _)| matches!(s, Stmt::Write { window, .. } if window == v));
            if early_write {
                return None;
            }
        }
    }
    let write_slice = slice(&stmts, |s| matches!(s, Stmt::Write { .. }));
    // Lets every iteration computes alike (`let t = x[i];`), computed once
    // before the loops: the compiler does not hoist the read itself, as it
    // cannot tell it from the windows written in the loop.
    let hoisted = invariant_lets(&stmts, frame.at);
    let hoist: Vec<TokenStream> = (0..stmts.len())
        .filter(|k| hoisted.contains(k) && (sum_slice.contains(k) || write_slice.contains(k)))
        .map(|k| stmts[k].0.tokens().clone())
        .collect();
    let sum_slice: Vec<usize> = sum_slice
        .into_iter()
        .filter(|k| !hoisted.contains(k))
        .collect();
    let write_slice: Vec<usize> = write_slice
        .into_iter()
        .filter(|k| !hoisted.contains(k))
        .collect();

    let (at, n) = (frame.at, frame.n);
    let accs: Vec<&Ident> = {
        let mut seen = HashSet::new();
        sums.iter()
            .filter_map(|&k| match &stmts[k].0 {
                Stmt::Sum { acc, .. } if seen.insert(acc.to_string()) => Some(acc),
                _ => None,
            })
            .collect()
    };
    let base = Ident::new("distributed_base", proc_macro2::Span::mixed_site());
    let partial = |acc: &Ident, lane: usize| format_ident!("{}_part{}", acc, lane);
    // Windows the sums read, cut to the block of four so that the lanes
    // index them by constants.
    let blocked: HashMap<String, String> = sum_slice
        .iter()
        .flat_map(|&k| stmts[k].1.vectors.iter())
        .filter(|v| frame.windows.contains_key(*v))
        .map(|v| (v.clone(), at.to_string()))
        .collect();
    // A lane of a block (`Some(lane)`) or of the tail.
    let lane_body = |lane: Option<usize>| -> TokenStream {
        let part = lane.unwrap_or(0);
        let lines = sum_slice.iter().map(|&k| match &stmts[k].0 {
            Stmt::Sum {
                acc, minus, expr, ..
            } => {
                let p = partial(acc, part);
                let op = if *minus { quote!(-=) } else { quote!(+=) };
                quote!(#p #op #expr;)
            }
            other => other.tokens().clone(),
        });
        let code: TokenStream = lines.collect();
        match lane {
            Some(lane) => {
                let lit = proc_macro2::Literal::usize_unsuffixed(lane);
                let code = crate::window::indexed_by(
                    &code.into_iter().collect::<Vec<_>>(),
                    &blocked,
                    &lit,
                );
                let mut read = HashSet::new();
                crate::reverse::idents_in(&code, &mut read);
                let at_let = read
                    .contains(&at.to_string())
                    .then(|| quote!(let #at = #base + #lit;));
                quote!({ #at_let #code })
            }
            None => code,
        }
    };
    let cuts = {
        let mut names: Vec<&String> = blocked.keys().collect();
        names.sort();
        names
            .into_iter()
            .filter_map(|v| frame.windows.get(v))
            .map(|(v, _)| quote!(let #v = &#v[#base..#base + 4];))
            .collect::<Vec<_>>()
    };
    let starts = accs.iter().flat_map(|acc| {
        (0..4).map(move |lane| {
            let p = partial(acc, lane);
            quote!(let mut #p = 0.0;)
        })
    });
    let lanes = (0..4).map(|lane| lane_body(Some(lane)));
    let tail = lane_body(None);
    let ends = accs.iter().map(|acc| {
        let [p0, p1, p2, p3] = [0, 1, 2, 3].map(|lane| partial(acc, lane));
        quote!(#acc += (#p0 + #p1) + (#p2 + #p3);)
    });
    let blocks = Ident::new("distributed_blocks", proc_macro2::Span::mixed_site());
    let writes = (!write_slice.is_empty()).then(|| {
        let code = write_slice.iter().map(|&k| stmts[k].0.tokens());
        quote!(for #at in 0..#n { #(#code)* })
    });
    let steps = stmts.iter().filter_map(|(s, _)| match s {
        Stmt::Step { counter: c, .. } => Some(quote!(#c = #c - #n;)),
        _ => None,
    });
    Some(quote! {
        #(#hoist)*
        #(#starts)*
        let #blocks = #n / 4;
        for #base in (0..#blocks).map(|b| 4 * b) {
            #(#cuts)*
            #(#lanes)*
        }
        for #at in 4 * #blocks..#n {
            #tail
        }
        #(#ends)*
        #writes
        #(#steps)*
    })
}

/// The body's statements with what each reads, or `None` at the first one
/// this module does not accept.
fn statements(frame: &Frame, tts: &[TokenTree]) -> Option<Vec<(Stmt, Reads)>> {
    let mut out = Vec::new();
    let mut declared = HashSet::new();
    let mut start = 0;
    for k in 0..tts.len() {
        match &tts[k] {
            TokenTree::Punct(p) if p.as_char() == ';' => {
                let (stmt, reads) = statement(frame, &tts[start..=k], &declared)?;
                if let Stmt::Let { name, .. } = &stmt {
                    declared.insert(name.clone());
                }
                out.push((stmt, reads));
                start = k + 1;
            }
            // A block at the top level (`if`, `{ .. }`) is not read.
            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => return None,
            _ => {}
        }
    }
    (start == tts.len()).then_some(out)
}

/// One statement (`s` ends with its `;`); `declared` holds the names the
/// body's earlier statements let.
fn statement(frame: &Frame, s: &[TokenTree], declared: &HashSet<String>) -> Option<(Stmt, Reads)> {
    let tokens: TokenStream = s.iter().cloned().collect();
    let text = tokens.to_string();
    if let Some((c, _)) = frame.counters.iter().find(|(_, step)| *step == text) {
        let step = Stmt::Step {
            counter: c.clone(),
            tokens,
        };
        return Some((step, Reads::default()));
    }
    let body = &s[..s.len() - 1];
    let mut reads = Reads::default();
    let body = match body {
        [TokenTree::Ident(kw), TokenTree::Ident(m), rest @ ..] if kw == "let" && m == "mut" => {
            // `let mut x = e;` reads as `let x = e;`: only `x += e` updates
            // follow it, and those are statements of their own.
            let mut v = vec![body[0].clone()];
            v.extend_from_slice(rest);
            v
        }
        _ => body.to_vec(),
    };
    let stmt = match &body[..] {
        [TokenTree::Ident(kw), TokenTree::Ident(name), TokenTree::Punct(eq), expr @ ..]
            if kw == "let" && eq.as_char() == '=' && eq.spacing() == Spacing::Alone =>
        {
            pure(frame, expr, &mut reads)?;
            Stmt::Let {
                name: name.to_string(),
                tokens,
            }
        }
        [TokenTree::Ident(w), TokenTree::Group(ix), rest @ ..]
            if ix.delimiter() == Delimiter::Bracket
                && *frame.at == ix.stream().to_string()
                && frame
                    .windows
                    .get(&w.to_string())
                    .is_some_and(|(_, writes)| *writes) =>
        {
            let expr = match rest {
                [TokenTree::Punct(eq), e @ ..]
                    if eq.as_char() == '=' && eq.spacing() == Spacing::Alone =>
                {
                    e
                }
                [TokenTree::Punct(op), TokenTree::Punct(eq), e @ ..]
                    if "+-".contains(op.as_char())
                        && op.spacing() == Spacing::Joint
                        && eq.as_char() == '=' =>
                {
                    e
                }
                _ => return None,
            };
            pure(frame, expr, &mut reads)?;
            reads.vectors.insert(w.to_string());
            Stmt::Write {
                window: w.to_string(),
                tokens,
            }
        }
        [TokenTree::Ident(x), TokenTree::Punct(op), TokenTree::Punct(eq), expr @ ..]
            if "+-".contains(op.as_char())
                && op.spacing() == Spacing::Joint
                && eq.as_char() == '='
                && declared.contains(&x.to_string()) =>
        {
            pure(frame, expr, &mut reads)?;
            reads.names.insert(x.to_string());
            Stmt::Update {
                name: x.to_string(),
                tokens,
            }
        }
        [TokenTree::Ident(acc), TokenTree::Punct(op), TokenTree::Punct(eq), expr @ ..]
            if "+-".contains(op.as_char())
                && op.spacing() == Spacing::Joint
                && eq.as_char() == '=' =>
        {
            pure(frame, expr, &mut reads)?;
            Stmt::Sum {
                acc: acc.clone(),
                minus: op.as_char() == '-',
                expr: expr.iter().cloned().collect(),
                tokens,
            }
        }
        _ => return None,
    };
    Some((stmt, reads))
}

/// Whether `e` is arithmetic on names, literals and vector elements, with
/// calls only to [`PURE_METHODS`]; records what it reads.
fn pure(frame: &Frame, e: &[TokenTree], reads: &mut Reads) -> Option<()> {
    if e.is_empty() {
        return None;
    }
    let mut k = 0;
    while k < e.len() {
        match &e[k] {
            TokenTree::Literal(_) => {}
            TokenTree::Punct(p) if "+-*/%".contains(p.as_char()) => {}
            TokenTree::Punct(p) if p.as_char() == '.' => {
                let (Some(TokenTree::Ident(m)), Some(TokenTree::Group(args))) =
                    (e.get(k + 1), e.get(k + 2))
                else {
                    return None;
                };
                if !PURE_METHODS.contains(&m.to_string().as_str())
                    || args.delimiter() != Delimiter::Parenthesis
                {
                    return None;
                }
                let inner: Vec<TokenTree> = args.stream().into_iter().collect();
                if !inner.is_empty() {
                    pure_list(frame, &inner, reads)?;
                }
                k += 3;
                continue;
            }
            TokenTree::Ident(i) if i == "as" => {
                let Some(TokenTree::Ident(_)) = e.get(k + 1) else {
                    return None;
                };
                k += 2;
                continue;
            }
            TokenTree::Ident(i) => {
                let name = i.to_string();
                if is_keyword(&name) {
                    return None;
                }
                match e.get(k + 1) {
                    Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Bracket => {
                        if !frame.vectors.contains(&name) && !frame.windows.contains_key(&name) {
                            return None;
                        }
                        let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                        match &inner[..] {
                            [TokenTree::Ident(ix)] => {
                                reads.names.insert(ix.to_string());
                            }
                            [TokenTree::Literal(_)] => {}
                            _ => return None,
                        }
                        reads.vectors.insert(name);
                        k += 2;
                        continue;
                    }
                    Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => {
                        return None
                    }
                    Some(TokenTree::Punct(p)) if p.as_char() == ':' || p.as_char() == '!' => {
                        return None
                    }
                    _ => {
                        reads.names.insert(name);
                    }
                }
            }
            TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis => {
                let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                pure(frame, &inner, reads)?;
            }
            _ => return None,
        }
        k += 1;
    }
    Some(())
}

/// A method's arguments: pure expressions separated by commas.
fn pure_list(frame: &Frame, e: &[TokenTree], reads: &mut Reads) -> Option<()> {
    for arg in e.split(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ',')) {
        pure(frame, arg, reads)?;
    }
    Some(())
}

fn is_keyword(name: &str) -> bool {
    matches!(
        name,
        "if" | "else"
            | "match"
            | "loop"
            | "while"
            | "for"
            | "return"
            | "break"
            | "continue"
            | "unsafe"
            | "let"
            | "mut"
            | "ref"
            | "move"
            | "self"
            | "Self"
            | "async"
            | "await"
    )
}

/// Whether every element read at an index other than `at` is at a name the
/// body does not assign (its lets; sums and counters appear only in their
/// own statements), in a vector it does not write, so that every iteration
/// reads the same element.
fn invariant_indices(
    frame: &Frame,
    tts: &[TokenTree],
    lets: &HashSet<&str>,
    written: &HashSet<&str>,
) -> bool {
    for (k, tt) in tts.iter().enumerate() {
        match tt {
            TokenTree::Group(g) => {
                let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                if !invariant_indices(frame, &inner, lets, written) {
                    return false;
                }
            }
            TokenTree::Ident(v) => {
                let Some(TokenTree::Group(g)) = tts.get(k + 1) else {
                    continue;
                };
                if g.delimiter() != Delimiter::Bracket {
                    continue;
                }
                let ix = g.stream().to_string();
                if *frame.at == ix {
                    if !frame.windows.contains_key(&v.to_string()) {
                        return false;
                    }
                } else if lets.contains(ix.as_str()) || written.contains(v.to_string().as_str()) {
                    return false;
                }
            }
            _ => {}
        }
    }
    true
}

/// The positions of the statements `keep` selects and of the lets they
/// need, in order: a backward pass over the body, so a name let twice is
/// taken from the `let` that reaches the read.
fn slice(stmts: &[(Stmt, Reads)], keep: impl Fn(&Stmt) -> bool) -> Vec<usize> {
    let mut live: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    for k in (0..stmts.len()).rev() {
        let (s, reads) = &stmts[k];
        let take = match s {
            Stmt::Let { name, .. } => live.remove(name),
            // Reads its own name, which stays live.
            Stmt::Update { name, .. } => live.contains(name),
            other => keep(other),
        };
        if take {
            live.extend(reads.names.iter().cloned());
            out.push(k);
        }
    }
    out.reverse();
    out
}

/// The positions of the lets whose value is the same on every iteration:
/// they read neither `at` nor a let that does, and their name is let once.
fn invariant_lets(stmts: &[(Stmt, Reads)], at: &Ident) -> HashSet<usize> {
    let mut lets: HashMap<&str, usize> = HashMap::new();
    for (s, _) in stmts {
        if let Stmt::Let { name, .. } | Stmt::Update { name, .. } = s {
            *lets.entry(name.as_str()).or_default() += 1;
        }
    }
    let mut varying: HashSet<&str> = HashSet::new();
    let mut out = HashSet::new();
    let at = at.to_string();
    for (k, (s, reads)) in stmts.iter().enumerate() {
        let Stmt::Let { name, .. } = s else {
            continue;
        };
        let varies = reads
            .names
            .iter()
            .any(|r| *r == at || varying.contains(r.as_str()));
        if varies || lets[name.as_str()] > 1 {
            varying.insert(name);
        } else {
            out.insert(k);
        }
    }
    out
}

/// How often each identifier appears in `tts`, groups included.
fn count_idents(tts: &[TokenTree], out: &mut HashMap<String, usize>) {
    for tt in tts {
        match tt {
            TokenTree::Ident(i) => *out.entry(i.to_string()).or_default() += 1,
            TokenTree::Group(g) => {
                let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                count_idents(&inner, out);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::Span;

    /// `split` on a body over windows `g` (read) and `gl` (written), and the
    /// vector `x`, with the counter `li`.
    fn distribute(body: TokenStream) -> Option<String> {
        let at = Ident::new("at", Span::call_site());
        let n = Ident::new("n", Span::call_site());
        let window = |name: &str, writes| {
            let id = Ident::new(name, Span::call_site());
            (name.to_string(), (id, writes))
        };
        let windows: HashMap<String, (Ident, bool)> =
            [window("g", false), window("gl", true)].into();
        let vectors: HashSet<String> = ["g", "gl", "x", "l"].map(String::from).into();
        let counters = [(
            Ident::new("li", Span::call_site()),
            "li = li - 1 ;".to_string(),
        )];
        let frame = Frame {
            at: &at,
            n: &n,
            windows: &windows,
            vectors: &vectors,
            counters: &counters,
        };
        split(&frame, None, &body).map(|t| t.to_string())
    }

    #[test]
    fn an_axpy_and_a_sum_split_in_two() {
        let out = distribute(quote! {
            li = li - 1;
            let a = g[at];
            let b = x[i];
            let mut c = a * b;
            c += a.exp();
            gl[at] += c;
            s += a * b.sin();
        })
        .expect("distributed");
        // `b` is hoisted; the sum's lanes read `g` cut to four; the counter
        // moves once by the count.
        assert!(out.starts_with("let b = x [i] ;"), "{out}");
        assert!(
            out.contains("let g = & g [distributed_base .. distributed_base + 4] ;"),
            "{out}"
        );
        assert!(out.contains("s_part3 += a * b . sin () ;"), "{out}");
        assert!(out.contains("for at in 0 .. n { let a = g [at] ; let mut c = a * b ; c += a . exp () ; gl [at] += c ; }"), "{out}");
        assert!(out.ends_with("li = li - n ;"), "{out}");
        // A window read before the body writes it: the sums, which run
        // first, see the value the iteration read.
        let out = distribute(quote! {
            let a = gl[at];
            gl[at] = 0.0;
            s -= a * g[at];
        })
        .expect("distributed");
        assert!(out.contains("s_part0 -= a * g [0] ;"), "{out}");
        assert!(
            out.contains("for at in 0 .. n { gl [at] = 0.0 ; }"),
            "{out}"
        );
    }

    #[test]
    fn what_it_cannot_read_keeps_the_loop() {
        let cases = [
            // No sum.
            quote!(let a = g[at]; gl[at] += a;),
            // The sum reads a window after a write to it.
            quote!(gl[at] += g[at]; s += gl[at];),
            // The accumulator is read elsewhere.
            quote!(let a = g[at] * s; s += a;),
            // A tape, a call, an impure method, a branch.
            quote!(let a = t.pop().unwrap(); s += a;),
            quote!(let a = f(g[at]); s += a;),
            quote!(let a = g[at].push(1.0); s += a;),
            quote!(if c {
                s += g[at];
            }),
            // An element written at an index the loop does not change.
            quote!(x[i] += g[at]; s += g[at];),
            // A read at an index the body computes.
            quote!(let k = at + 1; s += x[k];),
            // The counter read in the body.
            quote!(li = li - 1; s += g[at] * (li as f64);),
            // A plain assignment.
            quote!(let a = g[at]; s = s + a;),
        ];
        for body in cases {
            assert_eq!(distribute(body.clone()), None, "{body}");
        }
    }
}
