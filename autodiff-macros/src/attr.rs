//! The attribute's own arguments: `#[grad]` or `#[grad(wrt(a, b))]`.

use crate::ctxt::Ctxt;
use proc_macro2::TokenStream;
use syn::parse::Parse;
use syn::Ident;

#[derive(Default)]
pub struct Args {
    /// `Some` when the user narrowed the differentiable parameters.
    pub wrt: Option<Vec<Ident>>,
}

pub fn parse(cx: &Ctxt, attr: TokenStream) -> Args {
    let mut args = Args::default();
    if attr.is_empty() {
        return args;
    }
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("wrt") {
            if args.wrt.is_some() {
                return Err(
                    meta.error("`wrt` is given twice; list every parameter in one `wrt(...)`")
                );
            }
            let content;
            syn::parenthesized!(content in meta.input);
            let names = content.parse_terminated(Ident::parse, syn::Token![,])?;
            if names.is_empty() {
                return Err(meta.error(
                    "`wrt()` is empty: name the parameters to differentiate, e.g. `wrt(w, b)`",
                ));
            }
            args.wrt = Some(names.into_iter().collect());
            Ok(())
        } else {
            Err(meta.error(
                "unknown #[grad] argument: the only argument is `wrt(param, ...)`, naming the parameters to differentiate",
            ))
        }
    });
    if let Err(e) = syn::parse::Parser::parse2(parser, attr) {
        cx.syn_error(e);
    }
    args
}
