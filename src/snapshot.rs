//! Snapshots: the stored transcript of a scenario, in insta's `.snap` format (a `---` YAML header,
//! then the text), kept next to the scenarios in `snapshots/<stem>.snap`, so that `netlab test`
//! and a Rust test using `insta::glob!` read and write the same files. Reading, comparing (as
//! insta does: trailing whitespace and CRLF do not count), writing, and the CI rule.

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::difference::{self, Difference};
use crate::exit::Bug;

/// Where the snapshot of the scenario at `scenario_path` lives: `<dir>/snapshots/<stem>.snap`.
pub fn path_for(scenario_path: &Path) -> PathBuf {
    let stem = scenario_path
        .file_stem()
        .map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned());
    let dir = scenario_path.parent().unwrap_or_else(|| Path::new(""));
    dir.join("snapshots").join(format!("{stem}.snap"))
}

/// The snapshots (`*.snap`) in the `snapshots/` folder of each of `folders` that no scenario
/// file of that folder (`*.yaml`, `*.yml`, run or not) writes: left by a scenario renamed or
/// removed. Sorted.
pub fn unreferenced(folders: &[&Path]) -> Vec<PathBuf> {
    let canonical =
        |path: &Path| std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let files_in = |folder: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(folder)
            .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
            .unwrap_or_default()
    };
    let mut found = Vec::new();
    for folder in folders {
        let written: std::collections::HashSet<PathBuf> = files_in(folder)
            .iter()
            .filter(|file| file.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .map(|scenario| canonical(&path_for(scenario)))
            .collect();
        found.extend(
            files_in(&folder.join("snapshots"))
                .into_iter()
                .filter(|file| file.extension().is_some_and(|e| e == "snap"))
                .filter(|file| !written.contains(&canonical(file))),
        );
    }
    found.sort();
    found.dedup_by(|a, b| canonical(a) == canonical(b));
    found
}

/// The pending snapshot next to `snap` (`x.snap.new`), as insta names it.
pub fn pending_path(snap: &Path) -> PathBuf {
    let mut name = snap.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

/// Text as insta compares it: without trailing whitespace, with LF line ends.
pub fn normalize(text: &str) -> String {
    text.trim_end().replace("\r\n", "\n")
}

/// Reads the stored text of a snapshot (`None` if there is none). The header is skipped.
pub fn read(path: &Path) -> io::Result<Option<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(body(&text).to_string()))
}

/// The text after the YAML header (`---` … `---`); the whole text if there is no header.
fn body(text: &str) -> &str {
    let mut lines = text.split_inclusive('\n');
    if lines.next().map(str::trim_end) != Some("---") {
        return text;
    }
    let mut offset = text.find('\n').map_or(text.len(), |i| i + 1);
    for line in lines {
        offset += line.len();
        if line.trim_end() == "---" {
            return &text[offset.min(text.len())..];
        }
    }
    ""
}

/// How a transcript compares with its stored snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// Equal (after normalisation).
    Same,
    /// Different; the stored text is kept for the diff.
    Differs {
        /// What the snapshot holds.
        stored: String,
    },
    /// There is no snapshot yet.
    Missing,
}

/// Compares a fresh transcript with what is stored.
pub fn compare(stored: Option<&str>, actual: &str) -> Comparison {
    match stored {
        None => Comparison::Missing,
        Some(stored) if normalize(stored) == normalize(actual) => Comparison::Same,
        Some(stored) => Comparison::Differs {
            stored: normalize(stored),
        },
    }
}

/// The header netlab writes, with insta's keys in insta's order.
#[derive(Serialize)]
struct Header<'a> {
    source: &'a str,
    description: &'a str,
    input_file: &'a str,
}

/// The whole file for a snapshot of `scenario_name` (from `scenario_path`) holding `transcript`.
/// The header holds three strings, which always serialize: an error is a bug in netlab.
pub fn render_file(
    scenario_path: &Path,
    scenario_name: &str,
    transcript: &str,
) -> Result<String, Bug> {
    let path = scenario_path.to_string_lossy().replace('\\', "/");
    let header = Header {
        source: &path,
        description: scenario_name,
        input_file: &path,
    };
    let yaml = crate::scenario::yaml::to_string(&header).map_err(|error| {
        Bug(format!(
            "the snapshot header of `{}` could not be made: {error}",
            scenario_path.display()
        ))
    })?;
    Ok(format!("---\n{}---\n{}\n", yaml, normalize(transcript)))
}

/// Writes a snapshot file (creating `snapshots/`), replacing any pending `.new` beside it.
pub fn write(path: &Path, contents: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, contents)
}

/// Removes a file if it is there.
pub fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// True when running under CI, by insta's rule: `CI` set to anything but empty, `0` or `false`,
/// or `TF_BUILD` set. Under CI no snapshot is ever written.
pub fn in_ci() -> bool {
    let ci = std::env::var("CI").map(|v| !matches!(v.as_str(), "" | "0" | "false"));
    ci.unwrap_or(false) || std::env::var_os("TF_BUILD").is_some()
}

/// A unified diff from `stored` to `actual`, with a few lines of context.
pub fn unified_diff(stored: &str, actual: &str, label: &str) -> String {
    let stored = format!("{}\n", normalize(stored));
    let actual = format!("{}\n", normalize(actual));
    similar::TextDiff::from_lines(&stored, &actual)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{label} (stored)"), &format!("{label} (this run)"))
        .to_string()
}

/// The first line of the stored transcript that this run's does not have as it was.
pub fn first_difference(stored: &str, actual: &str) -> Option<Difference> {
    let stored = normalize(stored);
    let actual = normalize(actual);
    let stored: Vec<&str> = stored.lines().collect();
    let actual: Vec<&str> = actual.lines().collect();
    difference::first_difference(&stored, &actual)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_path_is_beside_the_scenario() {
        assert_eq!(
            path_for(Path::new("scenarios/tcp_hello.yaml")),
            PathBuf::from("scenarios/snapshots/tcp_hello.snap")
        );
        assert_eq!(
            pending_path(Path::new("s/snapshots/a.snap")),
            PathBuf::from("s/snapshots/a.snap.new")
        );
    }

    #[test]
    fn the_header_is_skipped_and_trailing_space_ignored() {
        let file = render_file(
            Path::new("scenarios/x.yaml"),
            "x",
            "scenario x\n\nverdict: passed\n",
        )
        .unwrap();
        assert!(file.starts_with(
            "---\nsource: scenarios/x.yaml\ndescription: x\ninput_file: scenarios/x.yaml\n---\n"
        ));
        assert_eq!(body(&file), "scenario x\n\nverdict: passed\n");
        assert_eq!(
            compare(Some(body(&file)), "scenario x\r\n\r\nverdict: passed"),
            Comparison::Same
        );
        assert!(matches!(
            compare(Some("a"), "b"),
            Comparison::Differs { .. }
        ));
        assert_eq!(compare(None, "b"), Comparison::Missing);
    }

    #[test]
    fn a_file_without_header_is_all_body() {
        assert_eq!(body("just text\n"), "just text\n");
        assert_eq!(body("---\nsource: x\n"), "");
    }

    #[test]
    fn the_diff_marks_changed_lines() {
        let diff = unified_diff("a\nb\nc\n", "a\nB\nc\n", "x");
        assert!(diff.contains("-b\n") && diff.contains("+B\n"), "{diff}");
    }
}
