//! `netlab review`: the pending snapshots (`x.snap.new` beside `x.snap`, the files `netlab test`
//! writes and `cargo insta review` reads) one by one: the diff from what is stored, then accept
//! (the new one replaces it), reject (the new one is removed) or skip. Under CI nothing is
//! changed: they are shown, and pending ones fail the command.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anstream::ColorChoice;

use super::args::ReviewArgs;
use super::output::Output;
use super::test::diff_line;
use crate::exit::Exit;
use crate::snapshot;

/// What to do with one pending snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Accept,
    Reject,
    Skip,
    /// Skip this one and every one after it.
    Quit,
}

/// Runs `netlab review`.
pub fn review(args: &ReviewArgs, choice: ColorChoice) -> Exit {
    let mut output = Output::new(choice);
    let in_ci = snapshot::in_ci();
    if in_ci && (args.accept_all || args.reject_all) {
        output.warn("error: snapshots are never changed under CI (the CI variable is set): review them where they can be written");
        return Exit::Input;
    }
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        args.paths.clone()
    };
    let pending = match pending_snapshots(&paths) {
        Ok(pending) => pending,
        Err(message) => {
            output.warn(&format!("error: {message}"));
            return Exit::Input;
        }
    };
    if pending.is_empty() {
        output.say("no pending snapshot (*.snap.new)");
        return Exit::Passed;
    }
    let mut answers = std::io::stdin().lock();
    let (mut accepted, mut rejected, mut skipped) = (0, 0, 0);
    let mut worst = Exit::Passed;
    for (index, new) in pending.iter().enumerate() {
        let stored = stored_path(new);
        if let Err(message) = show(&mut output, new, &stored, index + 1, pending.len()) {
            output.warn(&format!("error: {message}"));
            worst = Exit::Environment;
            continue;
        }
        let decision = if in_ci {
            Decision::Skip
        } else if args.accept_all {
            Decision::Accept
        } else if args.reject_all {
            Decision::Reject
        } else {
            ask(&mut answers)
        };
        let done = match decision {
            Decision::Accept => accept(new, &stored).map(|()| accepted += 1),
            Decision::Reject => std::fs::remove_file(new).map(|()| rejected += 1),
            Decision::Skip => {
                skipped += 1;
                Ok(())
            }
            Decision::Quit => {
                skipped += pending.len() - index;
                break;
            }
        };
        if let Err(error) = done {
            output.warn(&format!(
                "error: cannot change `{}`: {}",
                new.display(),
                crate::diagnostic::io_reason(&error)
            ));
            worst = Exit::Environment;
        }
    }
    output.say(&format!(
        "\naccepted {accepted}, rejected {rejected}, skipped {skipped}"
    ));
    if in_ci {
        output.say("under CI nothing is changed: review them where snapshots can be written (`netlab review`)");
        worst = worst.max(Exit::Failed);
    }
    output.unless_output_failed(worst)
}

/// The pending snapshots under `paths` (folders at every depth, or the files given), sorted.
fn pending_snapshots(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    for path in paths {
        if path.is_dir() {
            let pattern = format!(
                "{}/**/*.snap.new",
                glob::Pattern::escape(&path.display().to_string())
            );
            found.extend(crate::suite::matching_files(&pattern)?);
        } else if path.is_file() && path.to_string_lossy().ends_with(".snap.new") {
            found.push(path.clone());
        } else {
            return Err(format!(
                "`{}` is neither a folder nor a pending snapshot (*.snap.new)",
                path.display()
            ));
        }
    }
    // One file given two ways (a folder and the file, `s` and `./s`) is reviewed once.
    let mut seen = std::collections::HashSet::new();
    found.retain(|path| seen.insert(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone())));
    found.sort();
    Ok(found)
}

/// Makes the pending snapshot `new` the stored one: renamed over it, or, where the stored one is
/// a link (a snapshot shared between folders), written through the link, as `netlab test
/// --update` writes, and then removed.
fn accept(new: &Path, stored: &Path) -> std::io::Result<()> {
    let linked = std::fs::symlink_metadata(stored).is_ok_and(|m| m.file_type().is_symlink());
    if linked {
        std::fs::write(stored, std::fs::read(new)?)?;
        std::fs::remove_file(new)
    } else {
        std::fs::rename(new, stored)
    }
}

/// The snapshot a pending one would replace: `x.snap` for `x.snap.new`.
fn stored_path(new: &Path) -> PathBuf {
    let text = new.to_string_lossy();
    PathBuf::from(text.strip_suffix(".new").unwrap_or(&text))
}

/// Prints the `number`th of `total` pending snapshots: where it is, and its diff from the stored
/// one (or all of it when there is none).
fn show(
    output: &mut Output,
    new: &Path,
    stored: &Path,
    number: usize,
    total: usize,
) -> Result<(), String> {
    let unreadable = |path: &Path, e: std::io::Error| {
        format!(
            "cannot read `{}`: {}",
            path.display(),
            crate::diagnostic::io_reason(&e)
        )
    };
    let Some(fresh) = snapshot::read(new).map_err(|e| unreadable(new, e))? else {
        return Err(format!("`{}` is gone (reviewed elsewhere?)", new.display()));
    };
    let old = snapshot::read(stored).map_err(|e| unreadable(stored, e))?;
    output.say(&format!("\n── {number}/{total} {}", stored.display()));
    match old {
        Some(old) => {
            let label = stored.display().to_string();
            for line in snapshot::unified_diff(&old, &fresh, &label).lines() {
                output.say(&diff_line(line));
            }
        }
        None => {
            output.say("   new snapshot (nothing stored yet):");
            for line in snapshot::normalize(&fresh).lines() {
                output.say(&diff_line(&format!("+{line}")));
            }
        }
    }
    Ok(())
}

/// Asks what to do until the answer is understood; the end of the input skips the rest.
fn ask(answers: &mut impl BufRead) -> Decision {
    loop {
        print!("accept (a), reject (r), skip (s), quit (q)? ");
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        match answers.read_line(&mut line) {
            Ok(0) | Err(_) => {
                println!();
                return Decision::Quit;
            }
            Ok(_) => {}
        }
        match line.trim().to_ascii_lowercase().as_str() {
            "a" | "accept" | "y" | "yes" => return Decision::Accept,
            "r" | "reject" | "n" | "no" => return Decision::Reject,
            "s" | "skip" | "" => return Decision::Skip,
            "q" | "quit" => return Decision::Quit,
            other => println!("`{other}`: answer a, r, s or q"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_until_understood_and_the_end_quits() {
        let mut input = std::io::Cursor::new("what\nA\n\nr\n");
        assert_eq!(ask(&mut input), Decision::Accept);
        assert_eq!(ask(&mut input), Decision::Skip);
        assert_eq!(ask(&mut input), Decision::Reject);
        assert_eq!(ask(&mut input), Decision::Quit);
    }

    #[test]
    fn a_pending_snapshot_replaces_the_one_without_new() {
        assert_eq!(
            stored_path(Path::new("s/snapshots/a.snap.new")),
            PathBuf::from("s/snapshots/a.snap")
        );
    }
}
