//! The JSON Schema of the scenario format, generated from the same raw types serde reads (so the
//! two cannot drift apart), for editors (yaml-language-server) to complete and check scenarios.
//! Types with hand-written visitors get hand-written schemas here; the rest derive theirs.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, generate::SchemaSettings, json_schema};

use super::raw::{
    RawDuration, RawMatcher, RawPayload, RawRepeat, RawScenario, RawSize, RawStep, STEP_KEYS,
};

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

impl JsonSchema for RawPayload {
    fn schema_name() -> Cow<'static, str> {
        "Payload".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Bytes to send: a string, `{ hex: \"de ad\" }`, `{ repeat: \"x\", times: 1000 }` or `{ file: \"payload.bin\" }`.",
            "oneOf": [
                { "type": "string" },
                { "type": "object", "additionalProperties": false, "required": ["hex"],
                  "properties": { "hex": { "type": "string", "pattern": "^[0-9a-fA-F\\s]*$" } } },
                { "type": "object", "additionalProperties": false, "required": ["repeat", "times"],
                  "properties": { "repeat": { "type": "string", "minLength": 1 }, "times": { "type": "integer", "minimum": 0 } } },
                { "type": "object", "additionalProperties": false, "required": ["file"],
                  "properties": { "file": { "type": "string" } } }
            ]
        })
    }
}

impl JsonSchema for RawMatcher {
    fn schema_name() -> Cow<'static, str> {
        "Matcher".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let one = |key: &str, value: serde_json::Value| {
            serde_json::json!({
                "type": "object", "additionalProperties": false, "required": [key],
                "properties": { key: value }
            })
        };
        let text = serde_json::json!({ "type": "string" });
        json_schema!({
            "description": "What must arrive: a string (exactly these bytes), or one of `equals`, `contains`, `regex`, `hex`, `bytes`.",
            "oneOf": [
                { "type": "string" },
                one("equals", text.clone()),
                one("contains", text.clone()),
                one("regex", text),
                one("hex", serde_json::json!({ "type": "string", "pattern": "^[0-9a-fA-F\\s]*$" })),
                one("bytes", serde_json::json!({ "type": "integer", "minimum": 0 }))
            ]
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
        let yes = serde_json::json!({ "const": true });
        // Every step key but the two that go beside an action.
        let actions = STEP_KEYS
            .iter()
            .filter(|k| !matches!(**k, "timeout" | "hint"));
        let one_action: Vec<serde_json::Value> = actions
            .map(|a| serde_json::json!({ "required": [a] }))
            .collect();
        json_schema!({
            "description": "One client step: exactly one action, and for the reading steps an optional `timeout`; `hint` explains a failure.",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "send": payload,
                "expect": matcher,
                "expect_close": yes,
                "expect_reset": yes,
                "read_to_close": matcher,
                "expect_nothing": duration,
                "sleep": duration,
                "shutdown": { "enum": ["write"] },
                "close": yes,
                "repeat": repeat,
                "timeout": duration,
                "hint": { "type": "string" }
            },
            "oneOf": one_action
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
            "servers",
            "clients",
        ] {
            assert!(schema["properties"].get(key).is_some(), "no `{key}`");
        }
        assert_eq!(schema["additionalProperties"], false);
    }
}
