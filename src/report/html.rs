//! The HTML report: one self-contained page per scenario (its sequence diagram, its first
//! failure with the hint, its warnings and its transcript), and for a suite an index page with a
//! row per scenario. Everything is inline (CSS, SVG, a little script): the page opens from
//! file://, needs no network, reads with scripts off (the script only adds the text/hex toggle
//! and the panel of a clicked message), follows the system's light or dark theme, and prints.

use std::fmt::Write;
use std::path::Path;

use super::diagram;
use super::markup::{at_most, escape};

/// Most bytes of a scenario's transcript on its page (the whole: `netlab run --transcript`).
const MOST_TRANSCRIPT: usize = 64 * 1024;
/// Most bytes of the first failure on a page.
const MOST_FAILURE: usize = 8 * 1024;
/// Most bytes of each warning on a page.
const MOST_WARNING: usize = 1024;
/// Most warnings on a page.
const MOST_WARNINGS: usize = 20;
use crate::scenario::Scenario;
use crate::suite::{CaseResult, CaseStatus};

const PAGE_STYLE: &str = r#"
:root { color-scheme: light dark; --fg:#1d2330; --muted:#5f6b7a; --bg:#ffffff; --panel:#f4f6f9;
  --ok:#1f8a4c; --bad:#c62f2f; --warn:#9a6700; --line:#d8dee6; }
@media (prefers-color-scheme: dark) { :root { --fg:#e3e8ef; --muted:#9aa6b5; --bg:#14181f;
  --panel:#1d232d; --ok:#4cd18a; --bad:#ff6b6b; --warn:#e3b341; --line:#323b48; } }
@media print { :root { --fg:#000; --bg:#fff; --panel:#f4f4f4; --line:#bbb; }
  .tools, .selected { display: none !important; } section.case { break-inside: avoid-page; } }
body { margin: 0 auto; padding: 16px 24px; max-width: 100%; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
h1 { font-size: 20px; margin: 4px 0 12px; } h2 { font-size: 17px; margin: 24px 0 4px; }
.meta { color: var(--muted); margin: 0 0 8px; }
.status { font-weight: bold; padding: 1px 8px; border-radius: 10px; font-size: 12px;
  border: 1px solid currentColor; }
.status.passed { color: var(--ok); } .status.failed, .status.error, .status.snapshot_differs { color: var(--bad); }
.status.snapshot_missing, .status.skipped { color: var(--warn); }
.failure, .warnings { background: var(--panel); border-left: 4px solid var(--bad); padding: 8px 12px;
  white-space: pre-wrap; font: 12px/1.4 ui-monospace, Menlo, Consolas, monospace; overflow-x: auto; }
.warnings { border-left-color: var(--warn); white-space: normal; }
figure.diagram { margin: 12px 0; overflow-x: auto; }
.tools { margin: 6px 0; font-size: 12px; }
.tools button { font: inherit; padding: 2px 10px; border: 1px solid var(--line); background: var(--panel);
  color: var(--fg); border-radius: 4px; cursor: pointer; }
.tools button[aria-pressed="true"] { border-color: var(--fg); font-weight: bold; }
.selected { background: var(--panel); padding: 8px 12px; white-space: pre-wrap; word-break: break-all;
  font: 12px/1.4 ui-monospace, Menlo, Consolas, monospace; max-height: 16em; overflow: auto; }
details pre { background: var(--panel); padding: 8px 12px; overflow-x: auto; font-size: 12px; }
table { border-collapse: collapse; } th, td { text-align: left; padding: 4px 12px;
  border-bottom: 1px solid var(--line); } td.number { text-align: right; font-variant-numeric: tabular-nums; }
a { color: inherit; }
"#;

const SCRIPT: &str = r#"
(function () {
  for (const figure of document.querySelectorAll('figure.diagram')) {
    const tools = figure.querySelector('.tools');
    const panel = figure.querySelector('.selected');
    tools.hidden = false;
    for (const button of tools.querySelectorAll('button[data-view]')) {
      button.addEventListener('click', function () {
        for (const label of figure.querySelectorAll('text.bytes')) {
          // The text as drawn is kept the first time the labels change.
          if (!label.hasAttribute('data-text')) label.setAttribute('data-text', label.textContent);
          label.textContent = label.getAttribute('data-' + button.dataset.view);
        }
        for (const other of tools.querySelectorAll('button[data-view]')) {
          other.setAttribute('aria-pressed', String(other === button));
        }
      });
    }
    // `page.html#hex` opens with the labels in hex.
    if (location.hash === '#hex') tools.querySelector('button[data-view="hex"]').click();
    figure.querySelector('svg').addEventListener('click', function (event) {
      const row = event.target.closest('.row');
      if (!row) return;
      const words = row.querySelector(':scope > title').textContent;
      const label = row.querySelector('text.bytes');
      panel.hidden = false;
      panel.textContent = label
        ? words + '\ntext: ' + row.querySelector('.label > title').textContent +
          '\nhex:  ' + label.getAttribute('data-full-hex')
        : words;
    });
  }
  window.addEventListener('beforeprint', function () {
    for (const details of document.querySelectorAll('details')) details.open = true;
  });
  // When the page was ready: parsed, its script run (then again once drawn, after load).
  const ready = function () {
    document.documentElement.setAttribute('data-rendered-ms', performance.now().toFixed(1));
  };
  ready();
  window.addEventListener('load', function () { requestAnimationFrame(ready); });
})();
"#;

/// One case of a report: the scenario and how its run ended.
pub struct Case<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// Its result.
    pub result: &'a CaseResult,
}

/// The page of `cases` (`netlab run --html`: one section per scenario, in order).
pub fn page(cases: &[Case]) -> String {
    let title = match cases {
        [one] => format!("netlab: {}", one.scenario.name),
        _ => format!("netlab: {} scenarios", cases.len()),
    };
    let mut body = String::new();
    for (index, case) in cases.iter().enumerate() {
        body.push_str(&case_section(case, index));
    }
    document(&title, &body)
}

/// `netlab test --html DIR`: writes a page per case and `index.html` linking them; returns the
/// index's path.
pub fn write_suite(dir: &Path, cases: &[Case]) -> std::io::Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir)?;
    let names = page_names(cases.iter().map(|case| case.scenario.name.as_str()));
    for (case, name) in cases.iter().zip(&names) {
        std::fs::write(dir.join(name), page(std::slice::from_ref(case)))?;
    }
    let index = dir.join("index.html");
    std::fs::write(&index, index_page(cases, &names))?;
    Ok(index)
}

/// A file name per scenario name (made safe, made unique, never the index's).
fn page_names<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut taken = std::collections::HashSet::new();
    names
        .map(|scenario| {
            let stem: String = scenario
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .take(80)
                .collect();
            let stem = if stem.is_empty() || stem.eq_ignore_ascii_case("index") {
                format!("scenario_{stem}")
            } else {
                stem
            };
            let mut name = format!("{stem}.html");
            let mut n = 2;
            // Unique also where file names ignore case (macOS, Windows).
            while !taken.insert(name.to_lowercase()) {
                name = format!("{stem}-{n}.html");
                n += 1;
            }
            name
        })
        .collect()
}

fn index_page(cases: &[Case], names: &[String]) -> String {
    let passed = cases
        .iter()
        .filter(|c| c.result.status() == CaseStatus::Passed)
        .count();
    let mut body = format!(
        "<h1>netlab test: {passed} of {} passed</h1><table><thead><tr><th>scenario</th>\
         <th>status</th><th>duration</th><th>score</th><th>file</th></tr></thead><tbody>",
        cases.len()
    );
    for (case, name) in cases.iter().zip(names) {
        let status = case.result.status().word();
        let _ = write!(
            body,
            "<tr><td><a href=\"{}\">{}</a></td><td><span class=\"status {status}\">{status}</span></td>\
             <td class=\"number\">{:.2}s</td><td class=\"number\">{}</td><td>{}</td></tr>",
            escape(name),
            escape(&case.scenario.name),
            case.result.duration.as_secs_f64(),
            score(case.result),
            escape(&case.scenario.path.display().to_string()),
        );
    }
    body.push_str("</tbody></table>");
    document("netlab test", &body)
}

fn score(result: &CaseResult) -> String {
    if result.points.max > 0 {
        format!("{}/{}", result.points.earned, result.points.max)
    } else {
        "–".to_string()
    }
}

fn case_section(case: &Case, index: usize) -> String {
    let Case { scenario, result } = case;
    let status = result.status().word();
    let mut out = format!(
        "<section class=\"case\"><h1>{} <span class=\"status {status}\">{status}</span></h1>\
         <p class=\"meta\">{} · {:.2}s",
        escape(&scenario.name),
        escape(&scenario.path.display().to_string()),
        result.duration.as_secs_f64()
    );
    if result.points.max > 0 {
        let _ = write!(out, " · score {} points", score(result));
    }
    out.push_str("</p>");
    if let Some(description) = &scenario.description {
        let _ = write!(out, "<p>{}</p>", escape(description.trim()));
    }
    if let Err(error) = &result.verdict {
        let _ = write!(
            out,
            "<div class=\"failure\">could not be run: {}</div>",
            escape(&error.to_string())
        );
    }
    if let Some(failure) = &result.first_failure {
        let _ = write!(
            out,
            "<h2>First failure</h2><div class=\"failure\">{}</div>",
            escape(&at_most(
                failure,
                MOST_FAILURE,
                "netlab run --transcript prints it whole"
            ))
        );
    }
    let warnings: Vec<&String> = result
        .file_warnings
        .iter()
        .chain(&result.run_warnings)
        .collect();
    if !warnings.is_empty() {
        out.push_str("<h2>Warnings</h2><div class=\"warnings\"><ul>");
        for warning in warnings.iter().take(MOST_WARNINGS) {
            let shown = at_most(warning, MOST_WARNING, "netlab run prints it whole");
            let _ = write!(out, "<li>{}</li>", escape(&shown));
        }
        if warnings.len() > MOST_WARNINGS {
            let _ = write!(
                out,
                "<li>… {} more (netlab run prints them)</li>",
                warnings.len() - MOST_WARNINGS
            );
        }
        out.push_str("</ul></div>");
    }
    if let Some(built) = &result.built {
        let _ = write!(
            out,
            "<h2>Conversation</h2><figure class=\"diagram\"><div class=\"tools\" hidden>bytes as \
             <button type=\"button\" data-view=\"text\" aria-pressed=\"true\">text</button> \
             <button type=\"button\" data-view=\"hex\" aria-pressed=\"false\">hex</button> \
             · click a row for all its bytes</div>{}<pre class=\"selected\" hidden></pre></figure>",
            diagram::svg(scenario, built, &format!("nl{index}"))
        );
        let _ = write!(
            out,
            "<details><summary>Transcript</summary><pre>{}</pre></details>",
            escape(&at_most(
                &result.transcript,
                MOST_TRANSCRIPT,
                "netlab run --transcript prints it whole"
            ))
        );
    }
    out.push_str("</section>");
    out
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\
         <title>{}</title><style>{PAGE_STYLE}</style></head><body>{body}<script>{SCRIPT}</script>\
         </body></html>\n",
        escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_names_are_safe_unique_whatever_the_case_and_never_the_index() {
        let names = page_names(["hello", "Hello", "hello", "Index", "a/b c", ""].into_iter());
        assert_eq!(
            names,
            [
                "hello.html",
                "Hello-2.html",
                "hello-3.html",
                "scenario_Index.html",
                "a_b_c.html",
                "scenario_.html"
            ]
        );
    }
}
