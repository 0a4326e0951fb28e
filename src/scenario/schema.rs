//! The JSON Schema of the scenario format, generated from the same raw types serde reads (so the
//! two cannot drift apart), for editors (yaml-language-server) to complete and check scenarios.
//! Types with hand-written visitors get hand-written schemas here; the rest derive theirs.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, generate::SchemaSettings, json_schema};

use super::raw::{
    RawCapture, RawClientTls, RawClientTlsSetting, RawDuration, RawFraming, RawHttp, RawHttpReply,
    RawMatcher, RawPayload, RawPoints, RawRedact, RawRepeat, RawScenario, RawSize, RawStatus,
    RawStep, STEP_KEYS,
};
use super::tls::TlsErrorKind;
use super::visitors::STATUS_CODES;

/// What a name may be (`validate::names`): no space, no ASCII punctuation but `_`, `-`, `.`.
pub const NAME_PATTERN: &str =
    r"^[^\u0000-\u002c\u002f\u003a-\u0040\u005b-\u005e\u0060\u007b-\u007f]+$";

/// An IP address as `bind` takes it: IPv4 dotted, or IPv6 (with a colon, brackets allowed).
pub const IP_PATTERN: &str = r"^([0-9]{1,3}(\.[0-9]{1,3}){3}|\[?[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*\]?)$";

/// What `connect` may be as far as one field tells: anything but an address with port 0
/// (a name, `host:port`, a template).
pub const CONNECT_PATTERN: &str = r"^(|.*[^0:]|.*[^:0]0+|0+)$";

/// A token of HTTP (RFC 9110 section 5.6.2), as a method and a header name are (`is_token` in
/// `validate::payloads`).
pub const TOKEN_PATTERN: &str = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

/// A request target given as a plain string is exact: it is not empty and holds no space or
/// control character, or no request can have it (`validate::payloads`, `request_target`).
pub(super) fn request_target(schema: &mut Schema) {
    let description = schema.remove("description");
    let exact = schema.clone();
    *schema = json_schema!({
        "allOf": [
            exact,
            { "not": { "type": "string", "pattern": "(^$|[\\s\\x00-\\x1f\\x7f])" } }
        ]
    });
    if let Some(description) = description {
        schema.insert("description".into(), description);
    }
}

/// Hex digits in pairs, spaces anywhere between them.
const HEX_PATTERN: &str = r"^\s*([0-9a-fA-F]\s*[0-9a-fA-F]\s*)*$";

/// A duration longer than zero: one with a digit other than 0 (`0s`, `0ms` are refused where a
/// timeout is meant).
fn positive_duration() -> serde_json::Value {
    serde_json::json!({
        "allOf": [ { "$ref": "#/definitions/Duration" }, { "pattern": "[1-9]" } ]
    })
}

/// `schema["properties"][key] = value` where `schema` has properties.
fn set_property(schema: &mut Schema, key: &str, value: serde_json::Value) {
    if let Some(properties) = schema
        .get_mut("properties")
        .and_then(serde_json::Value::as_object_mut)
    {
        properties.insert(key.to_string(), value);
    }
}

/// What the whole file must have, beyond its fields: a server or a client; vars named so that
/// `{name}` can use them, none of netlab's own; a timeout longer than zero.
pub(super) fn scenario_rules(schema: &mut Schema) {
    schema.insert(
        "anyOf".into(),
        serde_json::json!([
            { "required": ["servers"], "properties": { "servers": { "minItems": 1 } } },
            { "required": ["clients"], "properties": { "clients": { "minItems": 1 } } }
        ]),
    );
    set_property(schema, "timeout", positive_duration());
    if let Some(vars) = schema
        .get_mut("properties")
        .and_then(|p| p.get_mut("vars"))
        .and_then(serde_json::Value::as_object_mut)
    {
        vars.insert(
            "propertyNames".into(),
            serde_json::json!({
                "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                "not": { "enum": ["port", "host", "client", "instance", "data"] }
            }),
        );
    }
}

/// A server's fields that depend on one another: a program under test (`exec`) has none of a
/// netlab server's, a proxy none of a server that answers (and its faults go by way); a udp
/// server none of tcp's (and the reverse for faults).
pub(super) fn server_rules(schema: &mut Schema) {
    let any = |keys: &[&str]| {
        let each: Vec<serde_json::Value> = keys
            .iter()
            .map(|k| serde_json::json!({ "required": [k] }))
            .collect();
        serde_json::json!({ "anyOf": each })
    };
    schema.insert(
        "dependencies".into(),
        serde_json::json!({
            "exec": { "not": any(&["greeting", "delay", "rules", "backlog", "concurrency", "framing", "read_size"]) },
            "proxy": {
                "not": any(&["greeting", "delay", "rules", "framing", "exec", "expect_messages", "tls"]),
                "properties": { "faults": { "properties": {
                    "latency": false, "slice": false, "bandwidth": false, "reset": false,
                    "close_after": false, "drop": false, "duplicate": false, "stall": false,
                    "certificate": false
                } } }
            }
        }),
    );
    // What only a TLS server has: a certificate made wrong, a rule that turns to TLS.
    schema.insert(
        "allOf".into(),
        serde_json::json!([
            {
                "if": { "required": ["faults"], "properties": { "faults": { "required": ["certificate"] } } },
                "then": { "required": ["tls"] }
            },
            {
                "if": { "required": ["rules"], "properties": { "rules": { "contains": {
                    "required": ["starttls"], "properties": { "starttls": { "const": true } }
                } } } },
                "then": { "required": ["tls"] }
            }
        ]),
    );
    schema.insert(
        "if".into(),
        serde_json::json!({ "required": ["protocol"], "properties": { "protocol": { "const": "udp" } } }),
    );
    schema.insert(
        "then".into(),
        serde_json::json!({
            "properties": { "tls": false },
            "anyOf": [
                { "required": ["exec"] },
                {
                    "not": any(&["greeting", "backlog", "concurrency", "framing"]),
                    "properties": {
                        "rules": { "items": { "properties": { "close": { "not": { "const": true } } } } },
                        "faults": { "properties": {
                            "slice": false, "bandwidth": false, "reset": false, "close_after": false,
                            "to_upstream": { "properties": {
                                "slice": false, "bandwidth": false, "reset": false, "close_after": false
                            } },
                            "to_client": { "properties": {
                                "slice": false, "bandwidth": false, "reset": false, "close_after": false
                            } }
                        } }
                    }
                }
            ]
        }),
    );
    schema.insert(
        "else".into(),
        serde_json::json!({
            "properties": { "faults": { "properties": {
                "drop": false, "duplicate": false,
                "to_upstream": { "properties": { "drop": false, "duplicate": false } },
                "to_client": { "properties": { "drop": false, "duplicate": false } }
            } } }
        }),
    );
    set_property(schema, "ready_timeout", positive_duration());
}

/// A count's bounds: `exactly` alone, or `at_least` and/or `at_most`.
pub(super) fn count_rules(schema: &mut Schema) {
    schema.insert(
        "oneOf".into(),
        serde_json::json!([
            { "required": ["exactly"], "not": { "anyOf": [ { "required": ["at_least"] }, { "required": ["at_most"] } ] } },
            { "anyOf": [ { "required": ["at_least"] }, { "required": ["at_most"] } ], "not": { "required": ["exactly"] } }
        ]),
    );
}

/// A client's fields that depend on one another: a program (`exec`) has no steps, and only a
/// program has `expect_exit`, `expect_stdout` and a client-wide `hint`; its framing makes frames.
pub(super) fn client_rules(schema: &mut Schema) {
    schema.insert(
        "dependencies".into(),
        serde_json::json!({
            "exec": { "not": { "anyOf": [ { "required": ["steps"] }, { "required": ["tls"] } ] } },
            "expect_exit": ["exec"],
            "expect_stdout": ["exec"],
            "hint": ["exec"]
        }),
    );
    set_property(schema, "timeout", positive_duration());
    // TLS runs over tcp: a udp client (one that says so) takes no `tls` but `false`.
    schema.insert(
        "if".into(),
        serde_json::json!({ "required": ["protocol"], "properties": { "protocol": { "const": "udp" } } }),
    );
    schema.insert(
        "then".into(),
        serde_json::json!({ "properties": { "tls": { "const": false } } }),
    );
    // A client's framing is a length prefix or a delimiter: the others cut what a server reads.
    set_property(
        schema,
        "framing",
        serde_json::json!({
            "allOf": [
                { "$ref": "#/definitions/Framing" },
                { "not": { "enum": ["chunk", "line", "http"] } }
            ]
        }),
    );
}

/// The schema of a scenario file, draft-07 (what yaml-language-server reads best), as JSON text.
pub fn scenario_schema() -> String {
    let schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<RawScenario>();
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

impl JsonSchema for RawDuration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration with a unit: `250ms`, `1s`, `1.5s`, `2m` (a bare number is refused).",
            "type": "string",
            "pattern": "^\\s*([0-9]+(\\.[0-9]+)?\\s*[a-zµ]+\\s*)+$"
        })
    }
}

impl JsonSchema for RawSize {
    fn schema_name() -> Cow<'static, str> {
        "Size".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A size: a number of bytes, or a string such as `64KiB`, `16MiB`, `10KB`.",
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "string", "pattern": "^\\s*[0-9]+\\s*(B|KiB|MiB|GiB|KB|kB|MB|GB)?\\s*$" }
            ]
        })
    }
}

impl JsonSchema for RawPoints {
    fn schema_name() -> Cow<'static, str> {
        "Points".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "What a step or a client is worth when it passes: a whole number, 0 or more.",
            "type": "integer",
            "minimum": 0
        })
    }
}

impl JsonSchema for RawStatus {
    fn schema_name() -> Cow<'static, str> {
        "Status".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An HTTP status code, from 100 to 599.",
            "type": "integer",
            "minimum": STATUS_CODES.start(),
            "maximum": STATUS_CODES.end()
        })
    }
}

impl JsonSchema for RawRedact {
    fn schema_name() -> Cow<'static, str> {
        "Redact".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "What to hide in the transcript: `name: regex`; what the regex matches in the bytes shown is shown as `[name]`. Applied in the order written; a regex that can match the empty string is refused.",
            "type": "object",
            "propertyNames": { "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" },
            "additionalProperties": { "type": "string", "minLength": 1 }
        })
    }
}

impl JsonSchema for RawPayload {
    fn schema_name() -> Cow<'static, str> {
        "Payload".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let framed = generator.subschema_for::<RawPayload>();
        let http = generator.subschema_for::<RawHttpReply>();
        json_schema!({
            "description": "Bytes to send: a string, `{ hex: \"de ad\" }`, `{ repeat: \"x\", times: 1000 }`, `{ file: \"payload.bin\" }`, or `{ frame: PAYLOAD }` (the payload as one frame of the framing).",
            "oneOf": [
                { "type": "string" },
                { "type": "object", "additionalProperties": false, "required": ["hex"],
                  "properties": { "hex": { "type": "string", "pattern": HEX_PATTERN } } },
                { "type": "object", "additionalProperties": false, "required": ["repeat", "times"],
                  "properties": { "repeat": { "type": "string", "minLength": 1 }, "times": { "type": "integer", "minimum": 0 } } },
                { "type": "object", "additionalProperties": false, "required": ["file"],
                  "properties": { "file": { "type": "string" } } },
                { "type": "object", "additionalProperties": false, "required": ["frame"],
                  "properties": { "frame": framed } },
                { "type": "object", "additionalProperties": false, "required": ["http"],
                  "properties": { "http": http } }
            ]
        })
    }
}

impl JsonSchema for RawFraming {
    fn schema_name() -> Cow<'static, str> {
        "Framing".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "How a stream is cut into messages: `chunk` (one recv() each), `line`, a length prefix `{ length: u16be, offset, adjust, include_header }`, or `{ delimiter: \"\\r\\n\\r\\n\" }` (`{ delimiter: { hex: \"00\" } }` for any bytes).",
            "oneOf": [
                { "enum": ["chunk", "line", "http"] },
                { "type": "object", "additionalProperties": false, "required": ["length"],
                  "properties": {
                    "length": { "enum": LENGTH_KINDS },
                    "offset": { "type": "integer", "minimum": 0 },
                    "adjust": { "type": "integer" },
                    "include_header": { "type": "boolean" }
                  } },
                { "type": "object", "additionalProperties": false, "required": ["delimiter"],
                  "properties": { "delimiter": { "oneOf": [
                    { "type": "string", "minLength": 1 },
                    { "type": "object", "additionalProperties": false, "required": ["hex"],
                      "properties": { "hex": { "type": "string", "pattern": "^(\\s*[0-9a-fA-F]{2})+\\s*$" } } }
                  ] } } }
            ]
        })
    }
}

/// The kinds a length prefix may take (unsigned, or a varint).
pub const LENGTH_KINDS: &[&str] = &[
    "u8", "u16be", "u16le", "u32be", "u32le", "u64be", "u64le", "varint",
];

impl JsonSchema for RawMatcher {
    fn schema_name() -> Cow<'static, str> {
        "Matcher".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let framed =
            serde_json::to_value(generator.subschema_for::<RawMatcher>()).unwrap_or_default();
        let http = serde_json::to_value(generator.subschema_for::<RawHttp>()).unwrap_or_default();
        let one = |key: &str, value: serde_json::Value| {
            serde_json::json!({
                "type": "object", "additionalProperties": false, "required": [key],
                "properties": { key: value }
            })
        };
        let text = serde_json::json!({ "type": "string" });
        json_schema!({
            "description": "What must arrive: a string (exactly these bytes), or one of `equals`, `contains`, `regex`, `hex`, `bytes`, or `frame` (exactly one frame of the framing, whose body matches).",
            "oneOf": [
                { "type": "string" },
                one("equals", text.clone()),
                one("contains", text.clone()),
                one("regex", text),
                one("hex", serde_json::json!({ "type": "string", "pattern": HEX_PATTERN })),
                one("bytes", serde_json::json!({ "type": "integer", "minimum": 0 })),
                one("frame", framed),
                one("http", http)
            ]
        })
    }
}

impl JsonSchema for RawClientTlsSetting {
    fn schema_name() -> Cow<'static, str> {
        "ClientTls".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let settings = generator.subschema_for::<RawClientTls>();
        json_schema!({
            "description": "Speak TLS: `true` (the defaults: trust the run's CA), `false` (plain text, even to a TLS server), or the settings.",
            "anyOf": [ { "type": "boolean" }, settings ]
        })
    }
}

impl JsonSchema for RawStep {
    fn schema_name() -> Cow<'static, str> {
        "Step".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let payload = generator.subschema_for::<RawPayload>();
        let matcher = generator.subschema_for::<RawMatcher>();
        let duration = generator.subschema_for::<RawDuration>();
        let repeat = generator.subschema_for::<RawRepeat>();
        let capture = generator.subschema_for::<RawCapture>();
        let tls_error = generator.subschema_for::<TlsErrorKind>();
        let yes = serde_json::json!({ "const": true });
        // Every step key but the two that go beside an action.
        let actions = STEP_KEYS
            .iter()
            .filter(|k| !matches!(**k, "timeout" | "hint" | "capture" | "points" | "hidden"));
        let one_action: Vec<serde_json::Value> = actions
            .map(|a| serde_json::json!({ "required": [a] }))
            .collect();
        json_schema!({
            "description": "One client step: exactly one action, and for the reading steps an optional `timeout`; `hint` explains a failure.",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "send": { "allOf": [ payload, { "not": { "type": "object", "required": ["http"] } } ] },
                "expect": matcher,
                "expect_close": yes,
                "expect_reset": yes,
                "read_to_close": matcher,
                "expect_nothing": positive_duration(),
                "sleep": duration,
                "shutdown": { "enum": ["write"] },
                "close": yes,
                "starttls": yes,
                "expect_tls_error": tls_error,
                "repeat": repeat,
                "timeout": positive_duration(),
                "hint": { "type": "string" },
                "points": { "type": "integer", "minimum": 0 },
                "hidden": { "type": "boolean" },
                "capture": {
                    "type": "object",
                    "propertyNames": { "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" },
                    "additionalProperties": capture
                }
            },
            "oneOf": one_action,
            "dependencies": {
                "timeout": { "anyOf": [
                    { "required": ["expect"] },
                    { "required": ["expect_close"] },
                    { "required": ["expect_reset"] },
                    { "required": ["expect_tls_error"] },
                    { "required": ["read_to_close"] }
                ] },
                "capture": { "anyOf": [
                    { "required": ["expect"] },
                    { "required": ["read_to_close"] }
                ] }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_is_draft_07_and_names_every_top_level_key() {
        let schema: serde_json::Value =
            serde_json::from_str(&scenario_schema()).unwrap_or_default();
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
        for key in [
            "name",
            "description",
            "timeout",
            "vars",
            "redact",
            "servers",
            "clients",
        ] {
            assert!(schema["properties"].get(key).is_some(), "no `{key}`");
        }
        assert_eq!(schema["additionalProperties"], false);
    }
}
