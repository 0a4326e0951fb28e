//! Report files the commands write besides their output (JUnit, HTML, SVG): checked before the
//! run, so that a report that cannot be written is found before a long green run, not after.

use std::path::Path;

use crate::report::html::{self, Case};
use crate::scenario::Scenario;
use crate::suite::CaseResult;

/// Makes sure a report can be written at `path` (its folder made), before the run.
pub fn prepare_report_file(path: &Path) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| crate::diagnostic::io_reason(&e))?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map(drop)
        .map_err(|e| crate::diagnostic::io_reason(&e))
}

/// Makes sure a folder of reports can be written at `dir`, before the run.
pub fn prepare_report_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| crate::diagnostic::io_reason(&e))?;
    // Its index is written last: made now, a folder in its way is found before the run.
    prepare_report_file(&dir.join("index.html"))
}

/// The cases of a report: each result beside its scenario (results in the scenarios' order).
pub fn cases<'a>(
    scenarios: &'a [std::sync::Arc<Scenario>],
    results: &'a [CaseResult],
) -> Vec<Case<'a>> {
    scenarios
        .iter()
        .zip(results)
        .map(|(scenario, result)| Case { scenario, result })
        .collect()
}

/// Writes the HTML page of `cases` to `path`.
pub fn write_html(path: &Path, cases: &[Case]) -> Result<(), String> {
    std::fs::write(path, html::page(cases)).map_err(|e| crate::diagnostic::io_reason(&e))
}

/// Writes the SVG diagram of one case to `path`; an error when it did not run.
pub fn write_svg(path: &Path, case: &Case) -> Result<(), String> {
    let Some(built) = &case.result.built else {
        // Made before the run (`prepare_report_file`): no empty file, nor an older run's
        // diagram, is left to pass for this run's.
        discard(path);
        return Err(format!(
            "{} did not run: there is no diagram",
            case.scenario.name
        ));
    };
    let svg = crate::report::diagram::svg(case.scenario, built, "nl");
    std::fs::write(path, svg).map_err(|e| crate::diagnostic::io_reason(&e))
}

/// Removes a report file made before a run that gave nothing to put in it (a regular file
/// only: never a device or a link the path named).
pub fn discard(path: &Path) {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) {
        let _ = std::fs::remove_file(path);
    }
}

/// Whether two paths name one file (both exist: made by `prepare_report_file`).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
