//! Fresh names for SSA versions, temporaries and adjoints.
//!
//! Generated names avoid every identifier the user wrote anywhere in the
//! function (so a user variable called `grad_a` keeps its meaning and the
//! printed adjoint stays unambiguous), and carry `Span::mixed_site()`, so
//! they cannot capture or be captured by user names even when `#[grad]` is
//! expanded inside a `macro_rules!` macro.

use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use std::collections::{HashMap, HashSet};

#[derive(Clone)]
pub struct Names {
    /// Every identifier in the user's function.
    reserved: HashSet<String>,
    /// Every name emitted so far (user tokens reused, and generated ones).
    taken: HashSet<String>,
    /// The next suffix to try per base, so naming stays linear in the
    /// number of names (a 2,000-statement function has thousands of temps).
    next: HashMap<String, usize>,
}

impl Names {
    pub fn new(func_tokens: TokenStream) -> Self {
        let mut reserved = HashSet::new();
        collect_idents(func_tokens, &mut reserved);
        Names {
            reserved,
            taken: HashSet::new(),
            next: HashMap::new(),
        }
    }

    /// The name for a new binding of the user's `ident`: the user's own token
    /// the first time, `name_1`, `name_2`, ... for later versions.
    pub fn user_binding(&mut self, ident: &Ident) -> Ident {
        let name = ident.to_string();
        if self.taken.insert(name.clone()) {
            return ident.clone();
        }
        let base = name.trim_start_matches("r#").to_string();
        self.fresh_numbered(&base, 1)
    }

    /// A temporary: `t0`, `t1`, ...
    pub fn temp(&mut self) -> Ident {
        self.fresh_numbered("t", 0)
    }

    /// A name based on `base` as written, suffixed only when taken. A raw
    /// identifier inside `base` (`grad_r#let`) loses its `r#`.
    pub fn fresh(&mut self, base: &str) -> Ident {
        let base = &base.replace("r#", "");
        if !self.reserved.contains(base) && self.taken.insert(base.to_string()) {
            return Ident::new(base, Span::mixed_site());
        }
        self.fresh_numbered(&format!("{base}_"), 1)
    }

    fn fresh_numbered(&mut self, base: &str, start: usize) -> Ident {
        let sep = if base.ends_with('_') || base == "t" {
            ""
        } else {
            "_"
        };
        let first = *self.next.get(base).unwrap_or(&start);
        let (k, cand) = (first..)
            .map(|k| (k, format!("{base}{sep}{k}")))
            .find(|(_, cand)| !self.reserved.contains(cand) && !self.taken.contains(cand))
            .expect("an unbounded range always yields a free name");
        self.next.insert(base.to_string(), k + 1);
        self.taken.insert(cand.clone());
        Ident::new(&cand, Span::mixed_site())
    }
}

fn collect_idents(tokens: TokenStream, out: &mut HashSet<String>) {
    for tt in tokens {
        match tt {
            TokenTree::Ident(i) => {
                out.insert(i.to_string().trim_start_matches("r#").to_string());
            }
            TokenTree::Group(g) => collect_idents(g.stream(), out),
            _ => {}
        }
    }
}
