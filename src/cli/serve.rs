//! `netlab serve`: a scenario's servers without its clients, up until Ctrl-C, for a person (or
//! a student's program) to talk to, each connection printed live.

use anstream::ColorChoice;

use super::args::ServeArgs;
use super::interrupt::{Interrupt, receiver, unless_interrupted};
use super::loading::load_all_needing;
use super::output::{Output, run_error_text};
use crate::diagnostic::did_you_mean;
use crate::event::{EventKind, Origin};
use crate::exec::{self, RunOptions};
use crate::exit::{Bug, Exit};
use crate::report::LiveView;
use crate::scenario::{NeededVars, VarValues};

/// Runs `netlab serve`; returns the exit code.
pub fn serve(args: &ServeArgs, choice: ColorChoice, vars: &VarValues) -> Exit {
    let mut output = Output::new(choice);
    // Only the servers served start: the clients' vars, and other servers', may stay unset.
    let needed = NeededVars::OfServers(args.servers.clone());
    let mut scenarios =
        match load_all_needing(std::slice::from_ref(&args.file), vars, &needed, &mut output) {
            Ok(scenarios) => scenarios,
            Err(exit) => return exit,
        };
    let Some(scenario) = scenarios.pop() else {
        output.bug(&Bug(format!(
            "`{}` loaded without a scenario",
            args.file.display()
        )));
        return Exit::Bug;
    };
    let mut scenario = std::sync::Arc::unwrap_or_clone(scenario);
    for name in &args.servers {
        if !scenario.servers.iter().any(|s| &s.name == name) {
            let mut message = format!(
                "error: {}: no server is named `{name}`",
                args.file.display()
            );
            if let Some(guess) =
                did_you_mean(name, scenario.servers.iter().map(|s| s.name.as_str()))
            {
                message.push_str(&format!(" (did you mean `{guess}`?)"));
            }
            output.warn(&message);
            return Exit::Input;
        }
    }
    if !args.servers.is_empty() {
        scenario.keep_servers(&args.servers);
    }
    if scenario.servers.is_empty() {
        output.warn(&format!(
            "error: {}: the scenario has no server to serve",
            args.file.display()
        ));
        return Exit::Input;
    }
    scenario.clients.clear();
    output.say(&format!(
        "── serving {} ({}) until Ctrl-C",
        scenario.name,
        scenario.path.display()
    ));
    let interrupt = Interrupt::install();
    let options = RunOptions {
        time_scale: args.time_scale.unwrap_or_default(),
        interrupt: receiver(interrupt.as_ref()),
        forever: true,
        discard_events: true,
    };
    let shared = std::sync::Arc::new(scenario);
    let scenario = &*shared;
    let mut live = LiveView::new(scenario);
    let result = exec::run(&shared, &options, &mut |event| {
        if args.quiet {
            if let (Origin::Server(index), EventKind::Listening { addr, tls }) =
                (&event.origin, &event.kind)
                && let Some(server) = scenario.servers.get(*index)
            {
                let tls = crate::report::listening_tls(tls.as_ref());
                output.say(&format!("{} listening on {addr}{tls}", server.name));
            }
            return;
        }
        for line in live.lines(event, true) {
            output.say(&line);
        }
    });
    let exit = match result {
        Ok(outcome) => {
            for line in live.finish(true).into_iter().filter(|_| !args.quiet) {
                output.say(&line);
            }
            output.say("stopped");
            if outcome.verdict.passed() {
                Exit::Passed
            } else {
                Exit::Failed
            }
        }
        Err(error) => {
            output.warn(&run_error_text(&scenario.path, &error));
            Exit::of_error(&error)
        }
    };
    unless_interrupted(exit, interrupt.as_ref())
}
