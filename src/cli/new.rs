//! `netlab new NAME`: a commented starter scenario, the tutorial's hello in small, that passes
//! as written — a place to start editing from.

use std::path::{Path, PathBuf};

use anstream::ColorChoice;

use super::args::NewArgs;
use super::output::Output;
use crate::exit::Exit;

/// The starter scenario; `NAME` is replaced by the name given.
const STARTER: &str = r#"# yaml-language-server: $schema=SCHEMA
# (editors complete and check this file with the format's schema: `netlab schema` prints it)
# A netlab scenario: servers to start, clients that talk to them, and what must be said.
# Run it with `netlab run NAME.yaml`; `netlab test` compares its transcript with a snapshot.
name: NAME
description: >
  A TCP server that greets and echoes, and a client that checks it.
timeout: 30s                      # bound on the whole scenario

servers:
  - name: echo                    # clients connect by this name
    protocol: tcp                 # tcp | udp
    bind: 127.0.0.1
    port: 0                       # 0: any free port
    greeting: "Welcome!"          # sent as soon as a client connects
    delay: 100ms                  # pause before each reply
    rules:                        # the first rule that matches a message answers it
      - match: { equals: "bye" }
        reply: "Goodbye!"
        close: true               # then close the connection
      - reply: "You said: {data}" # {data} is the message received

clients:
  - name: client
    connect: echo                 # a server's name, or "host:port" for any other program
    steps:
      - expect: "Welcome!"
      - send: "hello"
      - expect: "You said: hello"
      - send: "bye"
      - expect: { regex: "^Good" }  # also contains, hex, bytes; the rest stays for the next step
      - expect: "bye!"            # what a matcher consumed is gone; the rest follows
      - expect_close: true
"#;

/// Where the modeline of a new scenario points: a schema that is there on this machine.
struct SchemaPlace {
    /// The path the modeline gives, relative to the scenario (as yaml-language-server reads it).
    reference: String,
    /// The schema file written for it, if none was there.
    written: Option<PathBuf>,
}

/// The schema a scenario at `scenario` can point to: the nearest `netlab.schema.json` or
/// `schema/netlab.schema.json` in its folder or one above it (a repository that keeps one), else
/// a `netlab.schema.json` written beside it.
fn schema_for(scenario: &Path) -> Result<SchemaPlace, String> {
    let dir = std::path::absolute(scenario)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    for (up, ancestor) in dir.ancestors().enumerate() {
        for place in ["netlab.schema.json", "schema/netlab.schema.json"] {
            if ancestor.join(place).is_file() {
                return Ok(SchemaPlace {
                    reference: format!("{}{place}", "../".repeat(up)),
                    written: None,
                });
            }
        }
    }
    let file = scenario.with_file_name("netlab.schema.json");
    std::fs::write(&file, crate::scenario::schema::scenario_schema()).map_err(|e| {
        format!(
            "cannot write `{}`: {}",
            file.display(),
            crate::diagnostic::io_reason(&e)
        )
    })?;
    Ok(SchemaPlace {
        reference: "netlab.schema.json".to_string(),
        written: Some(file),
    })
}

/// Runs `netlab new`; returns the exit code.
pub fn new(args: &NewArgs, choice: ColorChoice) -> Exit {
    let mut output = Output::new(choice);
    let valid = !args.name.is_empty()
        && args
            .name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !valid {
        output.warn(&format!(
            "error: `{}` is not a scenario name: use letters, digits, `_`, `-` and `.`",
            args.name
        ));
        return Exit::Input;
    }
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.yaml", args.name)));
    if path.exists() && !args.force {
        output.warn(&format!(
            "error: `{}` exists already (--force replaces it)",
            path.display()
        ));
        return Exit::Input;
    }
    let schema = match schema_for(&path) {
        Ok(schema) => schema,
        Err(message) => {
            output.warn(&format!("error: {message}"));
            return Exit::Environment;
        }
    };
    let text = STARTER
        .replace("SCHEMA", &schema.reference)
        .replace("NAME", &args.name);
    if let Some(written) = &schema.written {
        output.say(&format!(
            "wrote {} (the format, for editors)",
            written.display()
        ));
    }
    match std::fs::write(&path, text) {
        Ok(()) => {
            output.say(&format!(
                "wrote {}: try `netlab run {}`",
                path.display(),
                path.display()
            ));
            Exit::Passed
        }
        Err(e) => {
            output.warn(&format!(
                "error: cannot write `{}`: {}",
                path.display(),
                crate::diagnostic::io_reason(&e)
            ));
            Exit::Environment
        }
    }
}
