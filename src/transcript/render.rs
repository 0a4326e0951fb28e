//! Transcript text: plain for snapshots and pipes, coloured for a terminal. The plain text is
//! the contract snapshots hold; colour only wraps it.

use std::fmt;

use anstyle::{AnsiColor, Style};

use super::build::Transcript;
use super::describe::{Entry, Mark};

const GREEN: Style = AnsiColor::Green.on_default();
const RED: Style = AnsiColor::Red.on_default().bold();
const DIM: Style = Style::new().dimmed();
const BOLD: Style = Style::new().bold();

impl Entry {
    /// The entry as one or more lines, the actor padded to `width`.
    pub fn render(&self, width: usize, styled: bool) -> String {
        let (mark, style) = match self.mark {
            Mark::Passed => ("✓", GREEN),
            Mark::Failed => ("✗", RED),
            Mark::Server => (" ", DIM),
            Mark::Ran => ("·", BOLD),
        };
        let paint = |s: Style, text: &str| {
            if styled {
                format!("{s}{text}{s:#}")
            } else {
                text.to_string()
            }
        };
        let mut out = format!(
            "{} {}  {}",
            paint(style, mark),
            paint(
                if self.mark == Mark::Server { DIM } else { BOLD },
                &format!("{:<width$}", self.actor)
            ),
            self.text
        );
        for line in self.lines() {
            let colour = if line.starts_with('-') {
                RED
            } else if line.starts_with('+') {
                GREEN
            } else {
                Style::new()
            };
            out.push('\n');
            out.push_str(&" ".repeat(width + 6));
            out.push_str(&paint(colour, &line));
        }
        out
    }
}

impl Transcript {
    /// The whole transcript as text.
    pub fn render(&self, styled: bool) -> String {
        let paint = |s: Style, text: &str| {
            if styled {
                format!("{s}{text}{s:#}")
            } else {
                text.to_string()
            }
        };
        let mut out = format!("scenario {}\n", self.scenario);
        for section in &self.sections {
            out.push('\n');
            out.push_str(&paint(BOLD, &section.heading));
            out.push('\n');
            let width = section
                .entries
                .iter()
                .map(|e| e.actor.chars().count())
                .max()
                .unwrap_or(0);
            for entry in &section.entries {
                out.push_str("  ");
                out.push_str(&entry.render(width, styled));
                out.push('\n');
            }
            if !section.result.is_empty() {
                let style = if section.result == "passed" {
                    GREEN
                } else {
                    RED
                };
                out.push_str(&format!("  {}\n", paint(style, &section.result)));
            }
        }
        let style = if self.verdict == "passed" { GREEN } else { RED };
        out.push_str(&format!("\nverdict: {}\n", paint(style, &self.verdict)));
        out
    }
}

impl fmt::Display for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl Transcript {
    /// The first failing step on one line: `actor: step: reason`, with the first line that
    /// differs (expected, received) for a mismatch; the verdict when the run failed without a
    /// failing step; `None` when it passed.
    pub fn first_failure_line(&self) -> Option<String> {
        match self.first_failed_entry() {
            Some(entry) => Some(match &entry.differs {
                Some(difference) => {
                    format!("{}: {} ({})", entry.actor, entry.text, difference.message())
                }
                None => format!("{}: {}", entry.actor, entry.text),
            }),
            None if self.verdict != "passed" => Some(self.verdict.clone()),
            None => None,
        }
    }

    /// The first failing step (`actor: text` and its detail lines), or the verdict when the run
    /// failed without a failing step (a timeout, an interrupt); `None` when it passed.
    pub fn first_failure(&self) -> Option<String> {
        match self.first_failed_entry() {
            Some(entry) => {
                let mut text = format!("{}: {}", entry.actor, entry.text);
                for line in entry.lines() {
                    text.push('\n');
                    text.push_str(&line);
                }
                Some(text)
            }
            None if self.verdict != "passed" => Some(self.verdict.clone()),
            None => None,
        }
    }

    /// The hint of the first failure (see `first_failure`), if it has one.
    pub fn first_failure_hint(&self) -> Option<&str> {
        self.first_failed_entry().and_then(|e| e.hint.as_deref())
    }

    /// The failing step that came first in time, else the first failing line in the
    /// transcript's order.
    fn first_failed_entry<'a>(&'a self) -> Option<&'a Entry> {
        let failed = |entries: &'a [Entry]| entries.iter().find(|e| e.mark == Mark::Failed);
        self.first_failed_section
            .and_then(|index| self.sections.get(index))
            .and_then(|section| failed(&section.entries))
            .or_else(|| self.sections.iter().find_map(|s| failed(&s.entries)))
    }
}
