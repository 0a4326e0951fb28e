//! A laid-out diagram drawn as SVG: static (readable with no script), styled by classes so that
//! a page's light or dark theme applies, and the same text on every run apart from the measured
//! times (each in an element of class `measured`).

use std::fmt::Write;
use std::time::Duration;

use super::layout::{Hold, LaneKind, Layout, Row, lay_out};
use crate::event::AppliedFault;
use crate::report::markup::{escape, shorten, shorten_words};
use crate::scenario::Scenario;
use crate::transcript::Transcript;
use crate::transcript::{Arrow, ArrowKind, Mark};

const AXIS: usize = 132;
const LANE: usize = 184;
const HEAD: usize = 64;
const ARROW_ROW: usize = 40;
const NOTE_ROW: usize = 24;
const DETAIL_LINE: usize = 15;
/// Most detail lines of a failure drawn (all are in the transcript below the diagram).
const MOST_DETAIL: usize = 12;
/// About how wide a character of the labels' font is.
const CHAR: f64 = 7.3;

/// The styles of a diagram, also used by the page around it (light and dark).
pub const STYLE: &str = r#"
.nl { --fg:#1d2330; --muted:#5f6b7a; --lane:#c9d1dc; --client:#2f6fd6; --server:#7a4cc2;
  --program:#c26a12; --outside:#4f7a52; --ok:#1f8a4c; --bad:#c62f2f; --band:#fde8e8;
  --badge:#fff3d6; --badge-fg:#7a4b00; --hold:#dbe6f7; --bg:#ffffff;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
@media (prefers-color-scheme: dark) {
  .nl { --fg:#e3e8ef; --muted:#9aa6b5; --lane:#3a4452; --client:#6ea2ff; --server:#b08cff;
    --program:#ffab5c; --outside:#8cc58f; --ok:#4cd18a; --bad:#ff6b6b; --band:#3a1e22;
    --badge:#3d3220; --badge-fg:#ffd68a; --hold:#24344d; --bg:#14181f; }
}
@media print { .nl { --fg:#000; --bg:#fff; --band:#fde8e8; --hold:#e6ecf5; --lane:#999; } }
.nl .bg { fill: var(--bg); }
.nl text { fill: var(--fg); }
.nl .head rect { fill: var(--bg); stroke-width: 2; }
.nl .head.client rect { stroke: var(--client); }
.nl .head.server rect { stroke: var(--server); }
.nl .head.program rect { stroke: var(--program); stroke-dasharray: 5 3; }
.nl .head.outside rect { stroke: var(--outside); stroke-dasharray: 2 3; }
.nl .head .name { font-weight: bold; }
.nl .head .note, .nl .axis, .nl .rule, .nl .measured { fill: var(--muted); font-size: 10px; }
.nl .lifeline { stroke: var(--lane); stroke-dasharray: 4 4; }
.nl .tick { stroke: var(--lane); stroke-width: 0.5; }
.nl .arrow line { stroke: var(--fg); stroke-width: 1.4; }
.nl .arrow.connect line, .nl .arrow.fin line, .nl .arrow.halfclose line { stroke: var(--muted); }
.nl .arrow.reset line { stroke: var(--bad); stroke-width: 2; }
.nl .arrow.datagram line { stroke-dasharray: 6 4; }
.nl .arrow.lost line { stroke: var(--bad); }
.nl .arrow.failed line { stroke: var(--bad); }
.nl .lost-mark, .nl .failed .mark { fill: var(--bad); font-weight: bold; }
.nl .head-mark { fill: var(--fg); }
.nl .arrow.connect .head-mark, .nl .arrow.fin .head-mark, .nl .arrow.halfclose .head-mark { fill: var(--muted); }
.nl .arrow.reset .head-mark { fill: var(--bad); }
.nl .label { cursor: pointer; }
.nl .badge rect { fill: var(--badge); }
.nl .badge text { fill: var(--badge-fg); font-size: 10px; }
.nl .note .mark { font-weight: bold; }
.nl .passed .mark { fill: var(--ok); }
.nl .server .mark, .nl .ran .mark { fill: var(--muted); }
.nl .note text.words { paint-order: stroke; stroke: var(--bg); stroke-width: 3px; }
.nl .band { fill: var(--band); }
.nl .detail { font-size: 11px; }
.nl .detail.minus { fill: var(--bad); }
.nl .detail.plus { fill: var(--ok); }
.nl .hint { font-style: italic; }
.nl .hold { fill: var(--hold); }
.nl .hatch-line { stroke: var(--program); stroke-width: 2; }
"#;

/// The diagram of `transcript`, a run of `scenario`, as an SVG document; `id` names what it
/// defines (unique among the diagrams of one page).
pub fn svg(scenario: &Scenario, transcript: &Transcript, id: &str) -> String {
    let layout = lay_out(scenario, transcript);
    draw(&layout, &format!("scenario {}", scenario.name), id)
}

/// The SVG of a laid-out diagram, titled `title`.
fn draw(layout: &Layout, title: &str, id: &str) -> String {
    let heights: Vec<usize> = layout.rows.iter().map(row_height).collect();
    let mut tops = Vec::with_capacity(heights.len());
    let mut y = HEAD + 16;
    for h in &heights {
        tops.push(y);
        y += h;
    }
    let footer = if layout.not_drawn.is_empty() && layout.rows_not_drawn == 0 {
        0
    } else {
        24
    };
    let height = y + 16 + footer;
    let width = width(layout);
    let mut out = String::with_capacity(4096 + layout.rows.len() * 600);
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="nl" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{}">"#,
        escape(title)
    );
    let _ = writeln!(out, "\n<title>{}</title>", escape(title));
    let _ = writeln!(
        out,
        "<style>{STYLE}</style><defs><pattern id=\"{id}-hatch\" width=\"6\" height=\"6\" \
         patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><line class=\"hatch-line\" \
         x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\"/></pattern></defs>"
    );
    let _ = writeln!(
        out,
        "<rect class=\"bg\" width=\"{width}\" height=\"{height}\"/>"
    );
    // The time axis' headings.
    let _ = writeln!(
        out,
        r#"<text class="axis" x="8" y="{}">declared</text><text class="axis" x="70" y="{}">measured</text>"#,
        HEAD - 8,
        HEAD - 8
    );
    for (i, lane) in layout.lanes.iter().enumerate() {
        let x = center(i);
        let kind = match lane.kind {
            LaneKind::Client => "client",
            LaneKind::ClientProgram | LaneKind::ServerProgram => "program",
            LaneKind::Outside => "outside",
            LaneKind::Server => "server",
        };
        let _ = write!(
            out,
            r#"<line class="lifeline" x1="{x}" y1="{HEAD}" x2="{x}" y2="{}"/>"#,
            height - 8 - footer
        );
        let _ = writeln!(
            out,
            r#"<g class="head {kind}" data-lane="{i}"><title>{}</title><rect x="{}" y="8" width="{}" height="{}" rx="6"/><text class="name" x="{x}" y="26" text-anchor="middle">{}</text><text class="note" x="{x}" y="42" text-anchor="middle">{}</text></g>"#,
            escape(&format!("{} ({})", lane.name, lane.note)),
            x - LANE / 2 + 8,
            LANE - 16,
            HEAD - 16,
            escape(&shorten(&lane.name, 21)),
            escape(&shorten(&lane.note, 25)),
        );
    }
    for hold in &layout.holds {
        draw_hold(&mut out, hold, &tops, &heights, id);
    }
    let mut last_declared = None;
    for (r, row) in layout.rows.iter().enumerate() {
        let top = tops[r];
        if last_declared != Some(row.declared) {
            let _ = writeln!(
                out,
                r#"<line class="tick" x1="4" y1="{top}" x2="{}" y2="{top}"/><text class="axis declared" x="8" y="{}">{}</text>"#,
                width - 4,
                top + 14,
                seconds(row.declared)
            );
            last_declared = Some(row.declared);
        }
        // A line's measured time, once (on its first row).
        let first_of_entry = r == 0 || !std::ptr::eq(layout.rows[r - 1].entry, row.entry);
        if let Some(at) = row.entry.drawing.at.filter(|_| first_of_entry) {
            let _ = writeln!(
                out,
                r#"<text class="measured" x="70" y="{}">{}</text>"#,
                top + 14,
                measured(at)
            );
        }
        match row.arrow {
            Some(arrow) => draw_arrow(&mut out, r, row, arrow, top),
            None if row.folded > 0 => draw_fold(&mut out, r, row, top),
            None => draw_note(&mut out, r, row, top, width),
        }
    }
    if footer > 0 {
        let mut words: Vec<String> = layout
            .not_drawn
            .iter()
            .map(|(name, n)| format!("{n} more instances of {name}"))
            .collect();
        if layout.rows_not_drawn > 0 {
            words.push(format!("{} more rows", layout.rows_not_drawn));
        }
        let _ = writeln!(
            out,
            r#"<text class="axis" x="8" y="{}">not drawn (see the transcript): {}</text>"#,
            height - 10,
            escape(&words.join(", "))
        );
    }
    out.push_str("</svg>\n");
    out
}

/// Most characters of a label's full text and hex (on hover, in the panel of a clicked row):
/// with `layout::MOST_ROWS`, what bounds a page (the whole is in the transcript).
const MOST_LABEL: usize = 128;

/// Most characters of a note beside its lane.
const NOTE_CHARS: usize = (LANE as f64 * 1.8 / CHAR) as usize;
/// Most characters of a failure's lines (the whole in the transcript).
const FAILURE_CHARS: usize = 140;

/// The diagram's width: its lanes, and room for the notes right of the last ones and for a
/// failure's lines.
fn width(layout: &Layout) -> usize {
    let lanes = AXIS + LANE * layout.lanes.len().max(1) + 16;
    let chars = |text: &str, most: usize| text.chars().count().min(most);
    let wide = |n: usize| (n as f64 * CHAR).ceil() as usize;
    layout
        .rows
        .iter()
        .filter(|row| row.arrow.is_none())
        .map(|row| {
            if row.folded > 0 {
                center(row.lane) + 10 + wide(40) + 8
            } else if row.entry.mark == Mark::Failed {
                let longest = failure_lines(row.entry)
                    .iter()
                    .map(|(_, line)| chars(line, FAILURE_CHARS))
                    .max()
                    .unwrap_or(0);
                AXIS + 8 + wide(longest) + 16
            } else {
                center(row.lane) + 10 + wide(chars(&row.entry.text, NOTE_CHARS)) + 8
            }
        })
        .fold(lanes, usize::max)
}

fn center(lane: usize) -> usize {
    AXIS + LANE * lane + LANE / 2
}

fn row_height(row: &Row) -> usize {
    match row.arrow {
        Some(_) => ARROW_ROW,
        None if row.folded > 0 => NOTE_ROW,
        None if row.entry.mark == Mark::Failed => {
            NOTE_ROW + 6 + DETAIL_LINE * failure_lines(row.entry).len()
        }
        None => NOTE_ROW,
    }
}

/// A declared time: `0s`, `200ms`, `1.25s`.
fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        let text = format!("{:.3}", d.as_secs_f64());
        format!("{}s", text.trim_end_matches('0').trim_end_matches('.'))
    }
}

/// A measured time, to the millisecond.
fn measured(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}

/// Whose line a row is: its section's client's, or a server's.
fn side(row: &Row) -> &'static str {
    if row.on_server { "server" } else { "client" }
}

fn state_class(mark: Mark) -> &'static str {
    match mark {
        Mark::Passed => "passed",
        Mark::Failed => "failed",
        Mark::Server => "server",
        Mark::Ran => "ran",
    }
}

fn draw_hold(out: &mut String, hold: &Hold, tops: &[usize], heights: &[usize], id: &str) {
    let x = center(hold.lane) - 4;
    let y = |row: usize| tops[row] + heights[row] / 2;
    let start = y(hold.from);
    let end = y(hold.to).max(start + 4);
    match hold.accepted {
        Some(accepted) => {
            let taken = y(accepted);
            let _ = writeln!(
                out,
                r#"<g class="waiting-bar"><title>connected, but no server took it yet: it waited in the listen backlog</title><rect class="waiting" fill="url(#{id}-hatch)" x="{x}" y="{start}" width="8" height="{}"/></g><rect class="hold" x="{x}" y="{taken}" width="8" height="{}"/>"#,
                taken.saturating_sub(start),
                end.saturating_sub(taken).max(4)
            );
        }
        None => {
            let _ = writeln!(
                out,
                r#"<rect class="hold" x="{x}" y="{start}" width="8" height="{}"/>"#,
                end - start
            );
        }
    }
}

fn draw_arrow(out: &mut String, r: usize, row: &Row, arrow: &Arrow, top: usize) {
    let (x1, x2) = (center(row.from) as f64, center(row.to) as f64);
    let y = (top + 20) as f64;
    let dir = if x2 >= x1 { 1.0 } else { -1.0 };
    let kind = match arrow.kind {
        ArrowKind::Connect => "connect",
        ArrowKind::Data => "data",
        ArrowKind::Fin => "fin",
        ArrowKind::HalfClose => "halfclose",
        ArrowKind::Reset => "reset",
    };
    let mut classes = format!("row arrow {kind} {}", state_class(row.entry.mark));
    if arrow.datagram {
        classes.push_str(" datagram");
    }
    if arrow.lost {
        classes.push_str(" lost");
    }
    let _ = write!(
        out,
        r#"<g class="{classes}" data-row="{r}" data-section="{}" data-entry="{}" data-side="{}" data-from="{}" data-to="{}"><title>{}</title>"#,
        row.section,
        row.entry_index,
        side(row),
        row.from,
        row.to,
        escape(&shorten(
            &format!("{}  {}", row.entry.actor, row.entry.text),
            MOST_LABEL
        ))
    );
    // A lost message stops two thirds of the way, ending in ✗.
    let end = if arrow.lost {
        x1 + (x2 - x1) * 0.66
    } else {
        x2 - dir * 2.0
    };
    let _ = write!(out, r#"<line x1="{x1}" y1="{y}" x2="{end}" y2="{y}"/>"#);
    if arrow.lost {
        let _ = write!(
            out,
            r#"<text class="lost-mark" x="{end}" y="{}" text-anchor="middle">✗</text>"#,
            y + 4.0
        );
    } else {
        let tip = x2 - dir * 2.0;
        let back = tip - dir * 8.0;
        let _ = write!(
            out,
            r#"<path class="head-mark" d="M{tip},{y} L{back},{} L{back},{} Z"/>"#,
            y - 4.0,
            y + 4.0
        );
    }
    let span = (x2 - x1).abs();
    let room = (((span - 24.0) / CHAR).max(8.0)) as usize;
    let mid = (x1 + x2) / 2.0;
    let words = match arrow.kind {
        ArrowKind::Connect => Some("connect (SYN)".to_string()),
        ArrowKind::Fin => Some("close (FIN)".to_string()),
        ArrowKind::HalfClose => Some("shutdown write (FIN)".to_string()),
        ArrowKind::Reset => Some("reset (RST)".to_string()),
        ArrowKind::Data => None,
    };
    match (&arrow.label, words) {
        (Some(label), _) => {
            let _ = write!(
                out,
                r#"<g class="label"><title>{}</title><text class="bytes" x="{mid}" y="{}" text-anchor="middle" data-hex="{}" data-full-hex="{}">{}</text></g>"#,
                escape(&shorten(&label.text, MOST_LABEL)),
                y - 6.0,
                escape(&shorten_words(&label.hex, room)),
                escape(&shorten_words(&label.hex, MOST_LABEL)),
                escape(&shorten(&label.text, room)),
            );
        }
        (None, Some(words)) => {
            let _ = write!(
                out,
                r#"<text class="rule" x="{mid}" y="{}" text-anchor="middle">{words}</text>"#,
                y - 6.0
            );
        }
        (None, None) => {}
    }
    // Under the line: the rule and its delay, then a badge per fault and for a folded count.
    let mut under = Vec::new();
    if let Some(rule) = arrow.rule {
        under.push(format!("rules[{rule}]"));
    }
    if let Some(delay) = arrow.delay {
        under.push(format!("after {}", humantime::format_duration(delay)));
    }
    let mut badges: Vec<String> = arrow.faults.iter().map(badge_text).collect();
    if row.entry.drawing.more > 0 {
        badges.push(format!("×{} more", row.entry.drawing.more));
    }
    let rule_text = under.join(" · ");
    let badge_width = |text: &str| (text.chars().count() as f64 * 6.0 + 8.0).round();
    let total = rule_text.chars().count() as f64 * 6.0
        + badges.iter().map(|b| badge_width(b) + 4.0).sum::<f64>();
    let mut x = mid - total / 2.0;
    if !rule_text.is_empty() {
        let _ = write!(
            out,
            r#"<text class="rule" x="{x}" y="{}">{}</text>"#,
            y + 13.0,
            escape(&rule_text)
        );
        x += rule_text.chars().count() as f64 * 6.0 + 4.0;
    }
    for badge in badges {
        let w = badge_width(&badge);
        let _ = write!(
            out,
            r#"<g class="badge"><rect x="{x}" y="{}" width="{w}" height="13" rx="3"/><text x="{}" y="{}">{}</text></g>"#,
            y + 4.0,
            x + 4.0,
            y + 14.0,
            escape(&badge)
        );
        x += w + 4.0;
    }
    out.push_str("</g>\n");
}

/// A fault in a badge's few words.
fn badge_text(fault: &AppliedFault) -> String {
    match fault {
        AppliedFault::Latency(d) => format!("latency {}", humantime::format_duration(*d)),
        AppliedFault::Slice { bytes, pause } => {
            format!("slice {bytes}B/{}", humantime::format_duration(*pause))
        }
        AppliedFault::Bandwidth(rate) => format!("bandwidth {rate}B/s"),
        AppliedFault::CloseAfter(n) => format!("close_after {n}B"),
        AppliedFault::Reset => "reset".to_string(),
        AppliedFault::Dropped => "dropped".to_string(),
        AppliedFault::Duplicated => "duplicated".to_string(),
        AppliedFault::Stalled {
            duration: Some(d), ..
        } => format!("stall {}", humantime::format_duration(*d)),
        AppliedFault::Stalled { duration: None, .. } => "stalled".to_string(),
    }
}

/// The row standing for the lines of a long section that are not drawn.
fn draw_fold(out: &mut String, r: usize, row: &Row, top: usize) {
    let _ = writeln!(
        out,
        r#"<g class="row note folded" data-row="{r}" data-section="{}" data-entry="{}" data-side="client" data-from="{}" data-to="{}"><title>{} more lines of this conversation: see the transcript</title><text class="mark" x="{}" y="{}" text-anchor="middle">⋮</text><text class="words" x="{}" y="{}">… {} more lines (in the transcript)</text></g>"#,
        row.section,
        row.entry_index,
        row.lane,
        row.lane,
        row.folded,
        center(row.lane),
        top + 16,
        center(row.lane) + 10,
        top + 16,
        row.folded
    );
}

fn draw_note(out: &mut String, r: usize, row: &Row, top: usize, width: usize) {
    let x = center(row.lane);
    let state = state_class(row.entry.mark);
    let mark = match row.entry.mark {
        Mark::Passed => "✓",
        Mark::Failed => "✗",
        Mark::Server => "•",
        Mark::Ran => "·",
    };
    let _ = write!(
        out,
        r#"<g class="row note {state}" data-row="{r}" data-section="{}" data-entry="{}" data-side="{}" data-from="{}" data-to="{}"><title>{}</title>"#,
        row.section,
        row.entry_index,
        side(row),
        row.lane,
        row.lane,
        escape(&shorten(
            &format!("{}  {}", row.entry.actor, row.entry.text),
            MOST_LABEL
        ))
    );
    let failed = row.entry.mark == Mark::Failed;
    if failed {
        let _ = write!(
            out,
            r#"<rect class="band" x="{}" y="{top}" width="{}" height="{}" rx="4"/>"#,
            AXIS - 4,
            width - AXIS,
            row_height(row) - 2
        );
    }
    let y = top + 16;
    let _ = write!(
        out,
        r#"<text class="mark" x="{}" y="{y}" text-anchor="middle">{mark}</text>"#,
        x
    );
    // Words run right of the lane (over the next ones); a failure's take the whole width, on
    // the lines under its actor's name.
    let (first, room) = if failed {
        (row.entry.actor.as_str(), 24)
    } else {
        (row.entry.text.as_str(), NOTE_CHARS)
    };
    let words = shorten(first, room);
    let _ = write!(
        out,
        r#"<text class="words" x="{}" y="{y}">{}</text>"#,
        x + 10,
        escape(&words)
    );
    if failed {
        let left = AXIS + 8;
        let room = FAILURE_CHARS;
        for (i, (class, line)) in failure_lines(row.entry).into_iter().enumerate() {
            let _ = write!(
                out,
                r#"<text class="{class}" x="{left}" y="{}">{}</text>"#,
                y + 6 + DETAIL_LINE * (i + 1),
                escape(&shorten(&line, room))
            );
        }
    }
    out.push_str("</g>\n");
}

/// The lines under a failure, each with its class: its detail (at most `MOST_DETAIL`, then how
/// many more), then its hint.
fn failure_lines(entry: &crate::transcript::Entry) -> Vec<(&'static str, String)> {
    let mut lines: Vec<(&'static str, String)> = vec![("detail words", entry.text.clone())];
    lines.extend(entry.detail.iter().take(MOST_DETAIL).map(|line| {
        let class = if line.starts_with('-') {
            "detail minus"
        } else if line.starts_with('+') {
            "detail plus"
        } else {
            "detail"
        };
        (class, line.clone())
    }));
    if entry.detail.len() > MOST_DETAIL {
        lines.push((
            "detail",
            format!(
                "… {} more lines in the transcript",
                entry.detail.len() - MOST_DETAIL
            ),
        ));
    }
    if let Some(hint) = &entry.hint {
        lines.push(("detail hint", format!("hint: {hint}")));
    }
    lines
}
