//! Error collection: every stage reports into one context, and the macro
//! answers with all errors at once (serde_derive's `Ctxt`), so a user fixes a
//! function in one compile instead of one error per compile.

use proc_macro2::TokenStream;
use quote::ToTokens;
use std::cell::RefCell;
use std::fmt::Display;

#[derive(Default)]
pub struct Ctxt {
    errors: RefCell<Vec<syn::Error>>,
}

impl Ctxt {
    pub fn new() -> Self {
        Ctxt::default()
    }

    /// An error spanning all of `tokens` (start to end), with `msg`.
    pub fn error_spanned_by<T: ToTokens, M: Display>(&self, tokens: T, msg: M) {
        self.errors
            .borrow_mut()
            .push(syn::Error::new_spanned(tokens.into_token_stream(), msg));
    }

    pub fn syn_error(&self, err: syn::Error) {
        self.errors.borrow_mut().push(err);
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.borrow().is_empty()
    }

    /// All collected errors as `compile_error!` invocations, or `None`.
    pub fn into_compile_errors(self) -> Option<TokenStream> {
        let errors = self.errors.into_inner();
        if errors.is_empty() {
            return None;
        }
        let mut iter = errors.into_iter();
        let mut combined = iter.next().expect("checked non-empty");
        for e in iter {
            combined.combine(e);
        }
        Some(combined.to_compile_error())
    }
}
