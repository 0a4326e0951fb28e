//! netlab against the reference peers, side by side in one run, with the ratios the performance
//! targets are stated in (docs/performance.md).
//!
//! - `cargo bench --bench compare`: the full comparison (pinned to one CPU, then unpinned).
//! - `cargo bench --bench compare -- --quick`: fewer operations, a rougher figure.
//! - `cargo test --bench compare` (part of `cargo test`): a smoke run of every case with a few
//!   hundred operations and no target judged, so that the harness cannot rot.
//! - `--only NAME` runs the cases whose name contains NAME.
//!
//! Every load loop is bounded in count and in time; all traffic stays on loopback.

mod cases;
mod measured;
mod process;
mod reference;
mod stats;
mod tls;

use std::process::ExitCode;

/// How big a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// A few hundred operations per case, no targets judged (CI).
    Smoke,
    /// Enough for a rough figure.
    Quick,
    /// The figures of docs/performance.md.
    Full,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Test runners (cargo nextest) list the tests first: the smoke run is one test.
    if args.iter().any(|a| a == "--list") {
        if !args.iter().any(|a| a == "--ignored") {
            println!("smoke: test");
        }
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "--noop") {
        return ExitCode::SUCCESS;
    }
    if let Some(at) = args.iter().position(|a| a == "--reference-server")
        && args.get(at + 1).is_some_and(|role| role == "tls-echo")
    {
        let (Some(cert), Some(key)) = (args.get(at + 2), args.get(at + 3)) else {
            eprintln!("--reference-server tls-echo needs CERT_FILE KEY_FILE");
            return ExitCode::from(2);
        };
        return match tls::serve_echo(cert.as_ref(), key.as_ref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("reference server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(at) = args.iter().position(|a| a == "--reference-server") {
        let role = args
            .get(at + 1)
            .and_then(|name| reference::Role::from_name(name));
        let Some(role) = role else {
            eprintln!("--reference-server needs tcp-echo, tcp-sink, http or udp-echo");
            return ExitCode::from(2);
        };
        return match reference::serve(role) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("reference server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    // `cargo test NAME` passes NAME as a filter: the smoke run is the test named `smoke`.
    let filters: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with('-') && (*i == 0 || args[i - 1] != "--only"))
        .map(|(_, a)| a)
        .collect();
    if !filters.is_empty() && !filters.iter().any(|f| "smoke".contains(f.as_str())) {
        return ExitCode::SUCCESS;
    }
    // `cargo bench` passes --bench; `cargo test` does not: then this is the smoke run.
    let size = if !args.iter().any(|a| a == "--bench") {
        Size::Smoke
    } else if args.iter().any(|a| a == "--quick") {
        Size::Quick
    } else {
        Size::Full
    };
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|at| args.get(at + 1).cloned());
    match cases::run_all(size, only.as_deref()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("compare: {e:#}");
            ExitCode::FAILURE
        }
    }
}
