//! Where each field of an environment file is. The YAML is read once more as
//! parser events (with their positions) into a flat index of nodes by field
//! path, so that every error names FILE:LINE:COLUMN and the field, also where
//! the deserializer's own position is off (a tab, a missing field) or where
//! the problem is only found after deserializing (validation).
//!
//! The walk also catches what the deserializer reports in library terms: a
//! duplicate key (with both lines) and a file with no content.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Options as ParserOptions, Parser, Span};

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    fn start(span: &Span) -> Pos {
        Pos {
            line: span.start.line(),
            column: span.start.col() + 1,
        }
    }

    fn end(span: &Span) -> Pos {
        Pos {
            line: span.end.line(),
            column: span.end.col() + 1,
        }
    }
}

/// One value in the document.
#[derive(Debug, Clone)]
pub struct Node {
    /// `services.api-gateway.replicas`, `quota.hard["requests.cpu"]`, `x[0]`;
    /// empty for the document itself.
    pub path: String,
    /// Where its key is (values of a mapping).
    pub key: Option<Pos>,
    /// Where the value starts and ends.
    pub start: Pos,
    pub end: Pos,
    /// The text of a scalar.
    pub scalar: Option<String>,
    pub is_mapping: bool,
}

/// Why the document could not be indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocateError {
    /// The parser's error, at its position.
    Syntax { pos: Pos, message: String },
    /// A key given twice in one mapping.
    Duplicate {
        key: String,
        path: String,
        pos: Pos,
        first: Pos,
    },
    /// Nothing but blank lines and comments.
    Empty,
}

/// Every node of the document, in document order.
#[derive(Debug, Default)]
pub struct Located {
    nodes: Vec<Node>,
    by_path: HashMap<String, usize>,
}

enum Frame {
    Map {
        node: usize,
        /// The key read, waiting for its value.
        key: Option<(String, Pos)>,
        seen: HashMap<String, Pos>,
    },
    Seq {
        node: usize,
        index: usize,
    },
}

/// `parent.key`, or `parent["key"]` for keys that are not plain names.
pub fn join(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (parent.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{parent}.{key}"),
        (_, false) => format!("{parent}[{key:?}]"),
    }
}

impl Located {
    /// Indexes the first document of `text`.
    pub fn parse(text: &str) -> Result<Located, LocateError> {
        let mut located = Located::default();
        let mut stack: Vec<Frame> = Vec::new();
        let mut documents = 0;
        let mut options = ParserOptions::default();
        options.set_emit_comments(false);
        for item in Parser::new_from_str_with_options(text, options) {
            let (event, span) = item.map_err(|e| LocateError::Syntax {
                pos: Pos {
                    line: e.marker().line(),
                    column: e.marker().col() + 1,
                },
                message: e.info().to_string(),
            })?;
            match event {
                Event::DocumentStart(..) => {
                    documents += 1;
                    if documents > 1 {
                        break;
                    }
                }
                Event::Scalar(value, ..) => {
                    if let Some(Frame::Map { key, seen, node }) = stack.last_mut()
                        && key.is_none()
                    {
                        let pos = Pos::start(&span);
                        let parent = &located.nodes[*node].path;
                        if let Some(first) = seen.get(value.as_ref()) {
                            return Err(LocateError::Duplicate {
                                key: value.to_string(),
                                path: join(parent, &value),
                                pos,
                                first: *first,
                            });
                        }
                        seen.insert(value.to_string(), pos);
                        *key = Some((value.to_string(), pos));
                        continue;
                    }
                    located.value(&mut stack, &span, Some(value.to_string()), false);
                    located.finish_value(&mut stack);
                }
                Event::Alias(_) => {
                    located.value(&mut stack, &span, None, false);
                    located.finish_value(&mut stack);
                }
                Event::MappingStart(..) => {
                    let node = located.value(&mut stack, &span, None, true);
                    stack.push(Frame::Map {
                        node,
                        key: None,
                        seen: HashMap::new(),
                    });
                }
                Event::SequenceStart(..) => {
                    let node = located.value(&mut stack, &span, None, false);
                    stack.push(Frame::Seq { node, index: 0 });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    if let Some(Frame::Map { node, .. } | Frame::Seq { node, .. }) = stack.pop() {
                        located.nodes[node].end = Pos::end(&span).max(located.nodes[node].start);
                    }
                    located.finish_value(&mut stack);
                }
                _ => {}
            }
        }
        if located.nodes.is_empty() {
            return Err(LocateError::Empty);
        }
        Ok(located)
    }

    /// Records a value at the current place; returns its index.
    fn value(
        &mut self,
        stack: &mut [Frame],
        span: &Span,
        scalar: Option<String>,
        is_mapping: bool,
    ) -> usize {
        let (path, key) = match stack.last_mut() {
            None => (String::new(), None),
            Some(Frame::Map { node, key, .. }) => {
                let (name, pos) = key.take().unwrap_or_default();
                (join(&self.nodes[*node].path, &name), Some(pos))
            }
            Some(Frame::Seq { node, index }) => {
                (format!("{}[{index}]", self.nodes[*node].path), None)
            }
        };
        let index = self.nodes.len();
        self.by_path.entry(path.clone()).or_insert(index);
        self.nodes.push(Node {
            path,
            key,
            start: Pos::start(span),
            end: Pos::end(span),
            scalar,
            is_mapping,
        });
        index
    }

    /// After a complete value: the enclosing sequence moves to its next item.
    fn finish_value(&mut self, stack: &mut [Frame]) {
        if let Some(Frame::Seq { index, .. }) = stack.last_mut() {
            *index += 1;
        }
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.by_path.get(path).map(|&i| &self.nodes[i])
    }

    /// Where the field at `path` is: its key (else its value); for a field
    /// that is absent, its closest present parent's.
    pub fn position(&self, path: &str) -> Pos {
        let mut path = path;
        loop {
            if let Some(node) = self.get(path) {
                return node.key.unwrap_or(node.start);
            }
            match parent(path) {
                Some(p) => path = p,
                None => return Pos { line: 1, column: 1 },
            }
        }
    }

    /// Where the value of the field at `path` is (its key's position when
    /// absent, as [`Located::position`]).
    pub fn value_position(&self, path: &str) -> Pos {
        match self.get(path) {
            Some(node) => node.start,
            None => self.position(path),
        }
    }

    /// The node whose value (else whose key) starts at `pos`.
    pub fn at(&self, pos: Pos) -> Option<&Node> {
        self.nodes
            .iter()
            .find(|n| n.start == pos && !n.is_mapping)
            .or_else(|| self.nodes.iter().find(|n| n.start == pos))
            .or_else(|| self.nodes.iter().find(|n| n.key == Some(pos)))
    }

    /// The deepest mapping whose value spans `pos`.
    pub fn enclosing_mapping(&self, pos: Pos) -> Option<&Node> {
        self.nodes
            .iter()
            .filter(|n| n.is_mapping && n.start <= pos && pos < n.end)
            .max_by_key(|n| n.start)
    }
}

/// The parent of a field path (`a.b` → `a`, `a["x.y"]` → `a`, `a[0]` → `a`).
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    if path.ends_with(']') {
        // `[` inside a quoted key is escaped by {:?} only for `"`; find the
        // bracket that opens the last segment.
        let mut in_quotes = false;
        let mut open = None;
        let mut escaped = false;
        for (i, c) in path.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if in_quotes => escaped = true,
                '"' => in_quotes = !in_quotes,
                '[' if !in_quotes => open = Some(i),
                _ => {}
            }
        }
        return open.map(|i| &path[..i]);
    }
    Some(path.rfind(['.', ']']).map_or("", |i| {
        if path.as_bytes()[i] == b']' {
            &path[..=i]
        } else {
            &path[..i]
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# a comment
name: x
services:
  api-gateway:
    replicas: 3
    env: { A: b }
quota:
  hard:
    requests.cpu: \"16\"
list:
  - one
  - { k: v }
";

    fn pos(line: usize, column: usize) -> Pos {
        Pos { line, column }
    }

    #[test]
    fn paths_and_positions() {
        let located = Located::parse(TEXT).unwrap();
        let node = located.get("services.api-gateway.replicas").unwrap();
        assert_eq!(node.key, Some(pos(5, 5)));
        assert_eq!(node.start, pos(5, 15));
        assert_eq!(node.scalar.as_deref(), Some("3"));
        assert_eq!(
            located.value_position("quota.hard[\"requests.cpu\"]"),
            pos(9, 19)
        );
        assert_eq!(
            located.value_position("services.api-gateway.env.A"),
            pos(6, 15)
        );
        assert_eq!(located.value_position("list[1].k"), pos(12, 10));
        assert_eq!(located.position("list[0]"), pos(11, 5));
        // An absent field: its closest parent's key.
        assert_eq!(located.position("services.api-gateway.port"), pos(4, 3));
        assert_eq!(located.position("nothing.here"), pos(2, 1));
        assert_eq!(
            located.at(pos(5, 15)).unwrap().path,
            "services.api-gateway.replicas"
        );
        assert_eq!(
            located.enclosing_mapping(pos(6, 5)).unwrap().path,
            "services.api-gateway"
        );
    }

    #[test]
    fn parents_of_paths() {
        assert_eq!(parent("a.b.c"), Some("a.b"));
        assert_eq!(parent("a"), Some(""));
        assert_eq!(parent(""), None);
        assert_eq!(parent("a[\"x.y\"]"), Some("a"));
        assert_eq!(parent("a[\"x.y\"].b"), Some("a[\"x.y\"]"));
        assert_eq!(parent("a[0]"), Some("a"));
    }

    #[test]
    fn duplicates_name_both_places() {
        let err = Located::parse("a:\n  b: 1\n  c: 2\n  b: 3\n").unwrap_err();
        assert_eq!(
            err,
            LocateError::Duplicate {
                key: "b".into(),
                path: "a.b".into(),
                pos: pos(4, 3),
                first: pos(2, 3),
            }
        );
    }

    #[test]
    fn empty_files() {
        for empty in ["", "\n\n", "# only a comment\n", "   \n# x\n"] {
            assert_eq!(
                Located::parse(empty).unwrap_err(),
                LocateError::Empty,
                "{empty:?}"
            );
        }
    }
}
