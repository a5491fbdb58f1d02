//! How fintechctl reads YAML text, for every reader of it: the environment
//! files (`environment`) and the rendered documents (`render::yaml`). It
//! sits below both, so neither needs the other for it.

/// The parser's options: comments are not data, so the parser does not
/// hand them over (a third of the parse time went to carrying them).
pub fn options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.emit_comments = false;
    options
}
