//! Folding a cycle of lines in the live view: a load loop whose body sends several different
//! messages makes its server print the same few lines over and over. Once the last `period`
//! lines have come twice in a row, the next ones that continue the cycle are hidden and counted,
//! and one line says how many when the cycle breaks or the client moves on. (The transcript
//! folds a `repeat` its own way, by the client's steps.)

use std::collections::VecDeque;

/// The longest cycle looked for, in lines.
const MAX_PERIOD: usize = 4;

/// One connection's recent lines and the cycle being hidden, if any.
#[derive(Debug, Default)]
pub struct CycleFold {
    recent: VecDeque<String>,
    period: usize,
    hidden: u64,
}

impl CycleFold {
    /// Offers the next line: what to print first (a count of hidden lines, if a cycle just
    /// broke) and whether to print the line itself.
    pub fn offer(&mut self, text: &str) -> (Option<String>, bool) {
        if self.hidden > 0 {
            if self.continues(text, self.period) {
                self.hidden += 1;
                self.remember(text);
                return (None, false);
            }
            let summary = self.flush();
            self.remember(text);
            return (summary, true);
        }
        let period =
            (1..=MAX_PERIOD).find(|p| self.cycle_seen_twice(*p) && self.continues(text, *p));
        self.remember(text);
        match period {
            Some(period) => {
                self.period = period;
                self.hidden = 1;
                (None, false)
            }
            None => (None, true),
        }
    }

    /// The count of hidden lines, if any, said once; the cycle is forgotten.
    pub fn flush(&mut self) -> Option<String> {
        if self.hidden == 0 {
            self.recent.clear();
            return None;
        }
        let text = match self.period {
            1 => format!("… the line above {} more times", self.hidden),
            period => format!("… {} more lines repeating the {period} above", self.hidden),
        };
        self.hidden = 0;
        self.recent.clear();
        Some(text)
    }

    /// Whether `text` is the line `period` lines back.
    fn continues(&self, text: &str, period: usize) -> bool {
        self.recent
            .len()
            .checked_sub(period)
            .and_then(|at| self.recent.get(at))
            .is_some_and(|line| line == text)
    }

    /// Whether the last `period` lines are the `period` before them again.
    fn cycle_seen_twice(&self, period: usize) -> bool {
        let len = self.recent.len();
        len >= 2 * period
            && (0..period)
                .all(|i| self.recent[len - period + i] == self.recent[len - 2 * period + i])
    }

    fn remember(&mut self, text: &str) {
        if self.recent.len() == 2 * MAX_PERIOD {
            self.recent.pop_front();
        }
        self.recent.push_back(text.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(fold: &mut CycleFold, lines: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        for line in lines {
            let (summary, show) = fold.offer(line);
            out.extend(summary);
            if show {
                out.push(line.to_string());
            }
        }
        out.extend(fold.flush());
        out
    }

    #[test]
    fn a_cycle_is_shown_twice_then_counted() {
        let mut fold = CycleFold::default();
        let lines = ["a", "b", "a", "b", "a", "b", "a", "b", "a", "c"];
        assert_eq!(
            shown(&mut fold, &lines),
            vec![
                "a",
                "b",
                "a",
                "b",
                "… 5 more lines repeating the 2 above",
                "c"
            ]
        );
    }

    #[test]
    fn lines_that_do_not_cycle_are_all_shown() {
        let mut fold = CycleFold::default();
        let lines = ["Michael", "Tracy", "Sarah", "exit"];
        assert_eq!(shown(&mut fold, &lines), lines.to_vec());
    }

    #[test]
    fn the_same_line_over_and_over_is_counted() {
        let mut fold = CycleFold::default();
        assert_eq!(
            shown(&mut fold, &["x", "x", "x", "x", "x"]),
            vec!["x", "x", "… the line above 3 more times"]
        );
    }
}
