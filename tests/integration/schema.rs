use std::path::Path;

use crate::support::{root, run, text};

fn schema() -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(root().join("schema/netlab.schema.json")).unwrap(),
    )
    .unwrap()
}

/// A scenario file as the JSON value yaml-language-server would check.
fn as_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// The shipped schema is the one `netlab schema` prints (regenerate it with
/// `netlab schema > schema/netlab.schema.json` after changing the format).
#[test]
fn the_shipped_schema_is_up_to_date() {
    let (code, stdout, _) = text(&run(&["schema"]));
    assert_eq!(code, 0);
    let shipped = std::fs::read_to_string(root().join("schema/netlab.schema.json")).unwrap();
    assert_eq!(
        stdout, shipped,
        "schema/netlab.schema.json is stale: run `netlab schema > schema/netlab.schema.json`"
    );
}

/// Every shipped scenario, exercise and fixture is valid against the schema.
#[test]
fn the_schema_accepts_every_shipped_scenario() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let mut checked = 0;
    for dir in ["scenarios", "scenarios/exercises", "tests/fixtures"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "yaml")
                || path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("fuzz_crash"))
            {
                continue;
            }
            let errors: Vec<String> = validator
                .iter_errors(&as_json(&path))
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked}");
}

/// Mistakes of shape (unknown keys, wrong types, missing units) are caught by the schema too,
/// so an editor flags them as they are typed.
#[test]
fn the_schema_rejects_mistakes_of_shape() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    for name in [
        "unknown_top_level_key",
        "misspelt_server_key",
        "misspelt_step",
        "duration_without_unit",
        "count_wrong_type",
        "unknown_protocol",
        "misspelt_concurrency",
        "two_actions_in_one_step",
        "step_as_bare_string",
        "servers_not_a_list",
        "matcher_with_two_keys",
        "unknown_matcher",
        "repeat_without_times",
        "negative_read_size",
        "yes_is_not_a_boolean",
        "fault_unknown_kind",
        "unknown_framing",
        "port_out_of_range",
        "bad_hex_digit",
        "missing_connect",
    ] {
        let path = root().join(format!("tests/bad_scenarios/{name}.yaml"));
        assert!(
            !validator.is_valid(&as_json(&path)),
            "{name} passes the schema"
        );
    }
}
