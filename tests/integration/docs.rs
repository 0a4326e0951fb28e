//! The documentation's examples are scenarios that load and pass, so the docs cannot drift from
//! what netlab does.

use netlab::scenario::load_source;
use netlab::source::SourceFile;

use crate::support::{python3, root, run_in_process};

/// The ```yaml blocks of a markdown file.
fn yaml_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn every_example_in_the_docs_loads_and_passes() {
    let has_python = python3("the docs' program examples").is_some();
    let mut checked = 0;
    for doc in ["docs/format.md", "docs/cookbook.md"] {
        let text = std::fs::read_to_string(root().join(doc)).unwrap();
        for (i, block) in yaml_blocks(&text).into_iter().enumerate() {
            if block.contains("exec:") && !has_python {
                continue;
            }
            let source = SourceFile::new(
                root().join(doc).with_extension(format!("example{i}.yaml")),
                block,
            );
            let scenario =
                load_source(source).unwrap_or_else(|d| panic!("{doc} example {i}:\n{d}"));
            let (passed, transcript) = run_in_process(scenario, 1.0);
            assert!(passed, "{doc} example {i} failed:\n{transcript}");
            checked += 1;
        }
    }
    assert!(checked >= 7, "{checked}");
}
