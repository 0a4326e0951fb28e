//! How far a file's YAML aliases expand, measured on the events of the position pass before serde
//! expands anything: an alias bomb ("billion laughs") is refused at the alias that crosses a
//! limit, rather than by serde_yaml's "repetition limit exceeded", which has no position.

use std::collections::HashMap;

use yaml_rust2::parser::Event;

use super::payload::MAX_FILE_PAYLOADS;

/// serde_yaml's limit, which this pass applies first: at most 100 alias expansions per event of
/// the document.
const EXPANSIONS_PER_EVENT: u64 = 100;

/// Most text that aliases may add to a file, expanded: no file needs more than its payloads may
/// take ([`MAX_FILE_PAYLOADS`]).
pub const MAX_ALIAS_BYTES: u64 = MAX_FILE_PAYLOADS;

/// What the expansion of a node costs: aliases followed, and bytes of text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Weight {
    expansions: u64,
    bytes: u64,
}

impl Weight {
    /// The weight of an alias whose anchor is unknown or still open (it refers to itself).
    const UNBOUNDED: Weight = Weight {
        expansions: u64::MAX,
        bytes: u64::MAX,
    };

    fn add(&mut self, other: Weight) {
        self.expansions = self.expansions.saturating_add(other.expansions);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }
}

/// Which limit an alias crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AliasLimit {
    /// More expansions than [`EXPANSIONS_PER_EVENT`] per event of the document.
    Expansions(u64),
    /// More text than [`MAX_ALIAS_BYTES`].
    Bytes(u64),
}

/// The first alias whose expansion takes the document past a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AliasOverflow {
    /// Byte offset of the alias.
    pub offset: usize,
    /// The limit it crossed.
    pub limit: AliasLimit,
}

/// Running totals of one document, fed every event of the position pass.
#[derive(Debug, Default)]
pub(super) struct Expansion {
    events: u64,
    /// The weight of each anchored node, once closed.
    anchors: HashMap<usize, Weight>,
    /// The collections open now: their anchor id (0: none) and weight so far.
    open: Vec<(usize, Weight)>,
    /// Alias uses in file order: where, and what aliases have added up to and including it.
    uses: Vec<(usize, Weight)>,
    added: Weight,
}

impl Expansion {
    pub(super) fn on_event(&mut self, event: &Event, offset: usize) {
        let weight = match event {
            Event::Scalar(text, _, anchor, _) => {
                let weight = Weight {
                    expansions: 0,
                    bytes: text.len() as u64,
                };
                if *anchor != 0 {
                    self.anchors.insert(*anchor, weight);
                }
                weight
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                self.events += 1;
                self.open.push((*anchor, Weight::default()));
                return;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some((anchor, weight)) = self.open.pop() else {
                    return;
                };
                if anchor != 0 {
                    self.anchors.insert(anchor, weight);
                }
                weight
            }
            Event::Alias(anchor) => {
                let target = self
                    .anchors
                    .get(anchor)
                    .copied()
                    .unwrap_or(Weight::UNBOUNDED);
                let mut weight = Weight {
                    expansions: 1,
                    bytes: 0,
                };
                weight.add(target);
                self.added.add(weight);
                self.uses.push((offset, self.added));
                weight
            }
            _ => return,
        };
        self.events += 1;
        if let Some((_, parent)) = self.open.last_mut() {
            parent.add(weight);
        }
    }

    /// The first alias that takes the whole document past a limit, if one does.
    pub(super) fn overflow(&self) -> Option<AliasOverflow> {
        let most = self.events.saturating_mul(EXPANSIONS_PER_EVENT);
        self.uses.iter().find_map(|&(offset, added)| {
            let limit = if added.expansions > most {
                AliasLimit::Expansions(most)
            } else if added.bytes > MAX_ALIAS_BYTES {
                AliasLimit::Bytes(MAX_ALIAS_BYTES)
            } else {
                return None;
            };
            Some(AliasOverflow { offset, limit })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::positions::Positions;
    use super::*;

    #[test]
    fn a_few_aliases_are_fine() {
        let text = "a: &x [1, 2, 3]\nb: *x\nc: *x\n";
        assert_eq!(Positions::index(text).alias_overflow, None);
    }

    /// serde_yaml said "repetition limit exceeded" without a position.
    #[test]
    fn an_alias_bomb_is_found_at_the_alias_that_crosses_the_limit() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (name, previous) in ["b", "c", "d", "e", "f"]
            .iter()
            .zip(["a", "b", "c", "d", "e"])
        {
            let aliases = vec![format!("*{previous}"); 9].join(", ");
            text.push_str(&format!("{name}: &{name} [{aliases}]\n"));
        }
        let overflow = Positions::index(&text).alias_overflow;
        assert!(
            matches!(overflow, Some(AliasOverflow { limit: AliasLimit::Expansions(_), offset }) if text[offset..].starts_with('*')),
            "{overflow:?}"
        );
    }

    #[test]
    fn text_repeated_by_aliases_is_bounded() {
        let big = "x".repeat(1 << 20);
        let count = usize::try_from(MAX_ALIAS_BYTES >> 20).unwrap_or(0) + 1;
        let aliases = vec!["*t"; count].join(", ");
        let text = format!("t: &t {big}\nl: [{aliases}]\n");
        let overflow = Positions::index(&text).alias_overflow;
        assert!(
            matches!(
                overflow,
                Some(AliasOverflow {
                    limit: AliasLimit::Bytes(_),
                    ..
                })
            ),
            "{overflow:?}"
        );
    }
}
