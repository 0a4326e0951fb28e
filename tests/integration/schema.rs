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

/// The broken files whose mistake no JSON Schema can see: they need the rest of the file (names
/// that must resolve or be unique, fields allowed by the protocol of another entry, files on
/// disk, numbers in a duration's text), or they are not YAML a schema is given at all.
const BEYOND_A_SCHEMA: &[&str] = &[
    // Not a YAML document a schema checks: the parser refuses it first.
    "alias_bomb",
    "duplicate_key",
    "empty_file",
    "yaml_syntax_unclosed_quote",
    "bom_before_a_mistake",
    "cr_line_ends_before_a_mistake",
    "crlf_line_ends_before_a_mistake",
    // Names that must resolve, or be unique across entries.
    "duplicate_client_name",
    "duplicate_server_name",
    "unknown_server_in_connect",
    "proxy_unknown_upstream",
    "proxy_circle",
    "proxy_to_its_own_address",
    "proxy_to_another_protocol",
    // Which faults a server may have depends on whether it is a proxy (`if` is taken by udp).
    "proxy_faults_on_a_plain_server",
    "unicode_before_a_mistake",
    // A template's names: which exist depends on `vars:` and on where the template is.
    "exec_unknown_placeholder",
    "unknown_reply_placeholder",
    "http_header_value_unknown_name",
    "var_instance_in_a_server",
    "var_port_in_a_step",
    "var_unknown_in_send",
    // Captures: which names are known depends on the steps before; what a capture takes is
    // checked against its regex and its range.
    "capture_used_before_it_is_captured",
    "capture_two_ways",
    "capture_group_out_of_range",
    "capture_named_like_a_var",
    "capture_in_a_repeat_unit",
    "capture_range_backwards",
    // Frames: whether a framing is known where `frame` is written, and what fits in it.
    "frame_without_a_framing",
    "frame_too_long_for_its_prefix",
    "frame_body_holds_the_delimiter",
    // What `frame` and `http` mean depends on the server's framing and whose entry it is in.
    "frame_in_a_servers_match",
    "frame_reply_on_an_http_server",
    "http_rules_on_a_line_server",
    // HTTP: which parts a matcher may have depends on whose it is (a server reads requests).
    "http_status_in_a_servers_match",
    "http_method_in_a_clients_expect",
    "http_header_with_a_line_break",
    // A duration's size (at most a year) is a number inside its text.
    "duration_huge_expect_nothing",
    "duration_huge_scenario_timeout",
    "duration_huge_step_timeout",
    // Regexes are compiled by netlab's dialect and bounded in size; what one can match (the
    // empty string, for a redaction) is known once it is parsed.
    "invalid_regex",
    "regex_too_large",
    "redact_invalid_regex",
    "redact_matches_empty",
    // Files on disk, and what the whole file adds up to.
    "missing_payload_file",
    "payloads_over_the_file_cap",
    // The protocol of a client is its server's, another entry.
    "protocol_on_named_client",
    "udp_client_expect_close",
    "udp_datagram_too_large",
    // Points on a client exclude points on its steps: two levels of one entry.
    "points_on_a_client_and_its_steps",
    // Whether a server's messages can be counted depends on its protocol and framing, and
    // counts are a netlab server's, not a program's: other fields of the entry.
    "server_count_messages_over_chunks",
    "server_count_on_a_program",
    // A udp proxy relays whole datagrams: `read_size` depends on `protocol` and `proxy`.
    "proxy_udp_read_size",
    // A solution's `at` names a step or a check the rest of the file declares.
    "solution_fails_at_no_such_step",
    // What a PEM file holds is read at load: a file, its contents, whether a key fits.
    "tls_missing_cert_file",
    "tls_not_pem",
    "tls_key_of_another_certificate",
    // `{ca_file}` is a template name, known to programs only.
    "tls_ca_file_in_a_step",
    "tls_cert_file_without_tls",
    // What a PEM file holds.
    "tls_ca_not_a_certificate",
    "tls_encrypted_key_and_reversed_chain",
    // The order of a client's steps.
    "tls_starttls_out_of_order",
    // Whether a client is udp is its server's protocol.
    "tls_step_on_udp",
    // Whether a step speaks TLS depends on the client's `tls:` and its steps together.
    "tls_expected_by_a_plain_client",
];

/// Every mistake of shape in tests/bad_scenarios (a field's type, range, pattern, an unknown key)
/// is caught by the schema too, so that an editor flags it as it is typed; the schema is as strict
/// as the validator on everything one field decides.
#[test]
fn the_schema_rejects_every_mistake_of_shape() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let mut passing = Vec::new();
    for entry in std::fs::read_dir(root().join("tests/bad_scenarios")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.extension().is_none_or(|e| e != "yaml") || BEYOND_A_SCHEMA.contains(&name.as_str())
        {
            continue;
        }
        let Ok(document) =
            serde_yaml::from_str::<serde_json::Value>(&std::fs::read_to_string(&path).unwrap())
        else {
            passing.push(format!("{name} (not YAML: list it in BEYOND_A_SCHEMA)"));
            continue;
        };
        if validator.is_valid(&document) {
            passing.push(name);
        }
    }
    passing.sort();
    assert!(passing.is_empty(), "these pass the schema: {passing:#?}");
}
