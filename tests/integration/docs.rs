//! The documentation's examples are scenarios that load and pass, so the docs cannot drift from
//! what netlab does.

use netlab::scenario::load_source;
use netlab::source::SourceFile;

use crate::support::{netlab, python3, root, run_in_process, text as text_of};

/// The ```yaml blocks of a markdown file.
fn yaml_blocks(text: &str) -> Vec<String> {
    fenced_blocks(text, "yaml")
}

/// The blocks of a markdown file fenced as ```language.
fn fenced_blocks(text: &str, language: &str) -> Vec<String> {
    let opening = format!("```{language}");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, fence) if fence == opening => current = Some(String::new()),
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

/// The `netlab` command lines of a CI configuration: every string of the YAML document that
/// starts with `netlab ` (a `run:`, an item of `script:`), with the CI system's placeholders
/// filled in as the first of three shards.
fn netlab_commands(document: &serde_yaml::Value, out: &mut Vec<String>) {
    match document {
        serde_yaml::Value::String(text) if text.starts_with("netlab ") => out.push(
            text.replace("${{ matrix.shard }}", "1")
                .replace("${CI_NODE_INDEX}", "1")
                .replace("${CI_NODE_TOTAL}", "3"),
        ),
        serde_yaml::Value::Sequence(items) => {
            for item in items {
                netlab_commands(item, out);
            }
        }
        serde_yaml::Value::Mapping(map) => {
            for (_, value) in map {
                netlab_commands(value, out);
            }
        }
        _ => {}
    }
}

/// Every command of docs/ci.md parses and runs (as `--list`, in a repository laid out as the
/// page says, with its netlab.toml), and each CI configuration is valid YAML.
#[test]
fn the_ci_recipes_run() {
    let text = std::fs::read_to_string(root().join("docs/ci.md")).unwrap();
    let repo = std::env::temp_dir().join(format!(
        "netlab-ci-docs-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::create_dir_all(repo.join("scenarios/api")).unwrap();
    let scenario = "servers:\n  - name: web\n    greeting: \"hi\\n\"\nclients:\n  - connect: web\n    steps:\n      - expect: \"hi\\n\"\n";
    std::fs::write(repo.join("scenarios/web.yaml"), scenario).unwrap();
    std::fs::write(repo.join("scenarios/api/web2.yaml"), scenario).unwrap();
    let profiles = fenced_blocks(&text, "toml");
    assert_eq!(profiles.len(), 1, "one netlab.toml example");
    std::fs::write(repo.join("netlab.toml"), &profiles[0]).unwrap();

    let mut commands = Vec::new();
    let configurations = yaml_blocks(&text);
    assert!(configurations.len() >= 2, "GitHub Actions and GitLab CI");
    for block in &configurations {
        let document: serde_yaml::Value =
            serde_yaml::from_str(block).unwrap_or_else(|e| panic!("{e}:\n{block}"));
        let before = commands.len();
        netlab_commands(&document, &mut commands);
        assert!(commands.len() > before, "no netlab command in:\n{block}");
    }
    for block in fenced_blocks(&text, "sh") {
        for line in block.lines() {
            let command = line.split(" # ").next().unwrap_or(line).trim();
            if command.starts_with("netlab ") {
                commands.push(command.to_string());
            }
        }
    }
    assert!(
        commands.iter().any(|c| c.contains("--partition")),
        "{commands:?}"
    );
    for command in &commands {
        let words = shlex::split(command).unwrap_or_else(|| panic!("cannot split `{command}`"));
        let mut run = netlab();
        run.current_dir(&repo)
            .args(&words[1..])
            .env("CI", "true")
            .env_remove("NETLAB_PROFILE");
        if words[1] == "test" {
            run.arg("--list");
        }
        let (code, stdout, stderr) = text_of(&run.output().unwrap());
        assert_eq!(code, 0, "`{command}`:\n{stdout}{stderr}");
    }
}
