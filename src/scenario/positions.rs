//! Where each field of a scenario file sits: a second, span-aware pass over the YAML (serde_yaml
//! keeps no positions after deserializing) so that semantic errors found by `validate` can point at
//! the exact key or value. Also finds duplicate keys, which serde would report without a position.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use super::aliases::{AliasOverflow, Expansion};

/// Position of one node: where its key starts (if it is a mapping value) and where its value starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Byte offset of the key, for mapping entries.
    pub key: Option<usize>,
    /// Byte offset of the value.
    pub value: usize,
}

/// Field path (`clients[0].steps[2].expect`) to position, for every node of the document.
#[derive(Debug, Default)]
pub struct Positions {
    nodes: HashMap<String, Position>,
    /// Keys that appear twice in one mapping: (path of the repeated key, offset of the repeat).
    pub duplicates: Vec<(String, usize)>,
    /// The alias whose expansion takes the document too far, if one does.
    pub alias_overflow: Option<AliasOverflow>,
}

impl Positions {
    /// Indexes `text`. Returns an empty index if the YAML does not parse (serde_yaml reports that).
    pub fn index(text: &str) -> Self {
        let mut walker = Walker {
            bytes: CharToByte::new(text),
            stack: Vec::new(),
            nodes: HashMap::new(),
            duplicates: Vec::new(),
            expansion: Expansion::default(),
            at_root: false,
        };
        let mut parser = Parser::new_from_str(text);
        if parser.load(&mut walker, false).is_err() {
            return Self::default();
        }
        Self {
            nodes: walker.nodes,
            duplicates: walker.duplicates,
            alias_overflow: walker.expansion.overflow(),
        }
    }

    /// The path of the node whose value starts at `offset`, if one does.
    pub fn path_at(&self, offset: usize) -> Option<&str> {
        self.nodes
            .iter()
            .find(|(_, position)| position.value == offset)
            .map(|(path, _)| path.as_str())
    }

    /// The position of the node at `path`.
    pub fn get(&self, path: &str) -> Option<Position> {
        self.nodes.get(path).copied()
    }

    /// Offset of the value at `path`, or of the nearest enclosing node that has one.
    pub fn value_offset(&self, path: &str) -> Option<usize> {
        self.nearest(path).map(|p| p.value)
    }

    /// Offset of the key of `path` (falling back to its value, then to enclosing nodes).
    pub fn key_offset(&self, path: &str) -> Option<usize> {
        self.nearest(path).map(|p| p.key.unwrap_or(p.value))
    }

    fn nearest(&self, path: &str) -> Option<Position> {
        let mut current = path;
        loop {
            if let Some(position) = self.nodes.get(current) {
                return Some(*position);
            }
            let cut = current.rfind(['.', '['])?;
            current = &current[..cut];
        }
    }
}

/// Joins a field path: `join("clients[0]", "steps")` is `clients[0].steps`.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

enum Frame {
    Map {
        path: String,
        key: Option<(String, usize)>,
        seen: Vec<String>,
    },
    Seq {
        path: String,
        next: usize,
    },
    /// A complex (non-scalar) key: its contents are not indexed.
    Skip {
        depth: usize,
    },
}

/// yaml-rust2's markers count characters; everything else here counts bytes: the byte offset
/// of a character index, found from a checkpoint every [`CharToByte::EVERY`] characters (a map of
/// every character would take eight bytes per byte of a large file).
struct CharToByte<'t> {
    text: &'t str,
    /// The text is ASCII: a character's index is its byte offset (nearly every scenario file).
    ascii: bool,
    /// The byte offset of character `k * EVERY`, for each k (left empty for ASCII text).
    checkpoints: Vec<usize>,
}

impl<'t> CharToByte<'t> {
    const EVERY: usize = 256;

    fn new(text: &'t str) -> Self {
        let ascii = text.is_ascii();
        let checkpoints = if ascii {
            Vec::new()
        } else {
            text.char_indices()
                .step_by(Self::EVERY)
                .map(|(at, _)| at)
                .collect()
        };
        CharToByte {
            text,
            ascii,
            checkpoints,
        }
    }

    /// The byte offset of the character at `index` (the text's length past its end).
    fn of(&self, index: usize) -> usize {
        if self.ascii {
            return index.min(self.text.len());
        }
        let Some(&start) = self.checkpoints.get(index / Self::EVERY) else {
            return self.text.len();
        };
        self.text[start..]
            .char_indices()
            .nth(index % Self::EVERY)
            .map_or(self.text.len(), |(at, _)| start + at)
    }
}

struct Walker<'t> {
    bytes: CharToByte<'t>,
    stack: Vec<Frame>,
    nodes: HashMap<String, Position>,
    duplicates: Vec<(String, usize)>,
    expansion: Expansion,
    /// The next node is the document root.
    at_root: bool,
}

impl Walker<'_> {
    /// Where a node that starts now belongs: its path and key offset, or `None` if it is a key.
    fn place(&mut self, event: &Event, at: usize) -> Option<(String, Option<usize>)> {
        match self.stack.last_mut() {
            None => Some((String::new(), None)),
            Some(Frame::Skip { .. }) => None,
            Some(Frame::Seq { path, next }) => {
                let here = format!("{path}[{next}]");
                *next += 1;
                Some((here, None))
            }
            Some(Frame::Map { path, key, seen }) => match key.take() {
                Some((name, key_at)) => Some((join(path, &name), Some(key_at))),
                None => {
                    let name = match event {
                        Event::Scalar(text, ..) => text.clone(),
                        _ => "?".to_string(),
                    };
                    if seen.contains(&name) {
                        self.duplicates.push((join(path, &name), at));
                    } else {
                        seen.push(name.clone());
                    }
                    *key = Some((name, at));
                    if !matches!(event, Event::Scalar(..) | Event::Alias(..)) {
                        self.stack.push(Frame::Skip { depth: 0 });
                    }
                    None
                }
            },
        }
    }
}

impl MarkedEventReceiver for Walker<'_> {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let at = self.bytes.of(mark.index());
        self.expansion.on_event(&event, at);
        if let Some(Frame::Skip { depth }) = self.stack.last_mut() {
            match event {
                Event::MappingStart(..) | Event::SequenceStart(..) => *depth += 1,
                Event::MappingEnd | Event::SequenceEnd => {
                    *depth = depth.saturating_sub(1);
                    if *depth == 0 {
                        self.stack.pop();
                    }
                }
                _ => {}
            }
            return;
        }
        match event {
            Event::DocumentStart => self.at_root = true,
            Event::Scalar(..)
            | Event::Alias(..)
            | Event::MappingStart(..)
            | Event::SequenceStart(..) => {
                let placed = if self.at_root {
                    self.at_root = false;
                    Some((String::new(), None))
                } else {
                    self.place(&event, at)
                };
                if let Some((path, key)) = placed {
                    self.nodes.insert(path.clone(), Position { key, value: at });
                    match event {
                        Event::MappingStart(..) => self.stack.push(Frame::Map {
                            path,
                            key: None,
                            seen: Vec::new(),
                        }),
                        Event::SequenceStart(..) => self.stack.push(Frame::Seq { path, next: 0 }),
                        _ => {}
                    }
                } else if let Some(Frame::Skip { depth }) = self.stack.last_mut() {
                    *depth += 1;
                }
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// yaml-rust2 counts characters: after a multi-byte one, every offset was that many bytes
    /// early (an error pointed into the line before).
    #[test]
    fn offsets_are_bytes_after_multi_byte_characters() {
        let text = format!("a: \"{}\"\nb: here\n", "日本語".repeat(200));
        let p = Positions::index(&text);
        let at = p.value_offset("b").unwrap_or(0);
        assert_eq!(&text[at..at + 4], "here");
    }

    const TEXT: &str = "name: x\nservers:\n  - name: hello\n    rules:\n      - reply: hi\nclients:\n  - connect: helo\n    steps:\n      - send: a\n      - expect: { contains: b }\n";

    fn text_at(offset: Option<usize>) -> &'static str {
        offset.map_or("", |o| TEXT[o..].split('\n').next().unwrap_or(""))
    }

    #[test]
    fn finds_nested_values_and_keys() {
        let p = Positions::index(TEXT);
        assert_eq!(text_at(p.value_offset("clients[0].connect")), "helo");
        assert_eq!(text_at(p.key_offset("clients[0].connect")), "connect: helo");
        assert_eq!(text_at(p.value_offset("servers[0].rules[0].reply")), "hi");
        assert_eq!(
            text_at(p.value_offset("clients[0].steps[1].expect.contains")),
            "b }"
        );
    }

    #[test]
    fn missing_path_falls_back_to_parent() {
        let p = Positions::index(TEXT);
        assert_eq!(
            p.value_offset("clients[0].timeout"),
            p.value_offset("clients[0]")
        );
    }

    #[test]
    fn reports_duplicate_keys() {
        let p = Positions::index("a: 1\nb: 2\na: 3\n");
        assert_eq!(p.duplicates, vec![("a".to_string(), 10)]);
    }

    #[test]
    fn complex_keys_do_not_confuse_the_index() {
        let p = Positions::index("? [a, b]\n: 1\nc: 2\n");
        assert_eq!(p.value_offset("c"), Some(16));
    }
}
