//! Signals while a command runs: SIGINT, SIGTERM and SIGHUP close one channel that every run
//! waits on, and the first of them decides the command's exit code.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use crossbeam::channel::{Receiver, bounded};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::exit::{Exit, Signal};

/// Ctrl-C (SIGINT), SIGTERM and SIGHUP: a channel that closes on the first of them, waking every run that
/// waits on it at once, and which of them it was, for the exit code. The handlers stay installed,
/// so a second signal does not kill netlab halfway through stopping what it started.
#[derive(Clone)]
pub(super) struct Interrupt {
    /// Closes on the first signal.
    pub(super) receiver: Receiver<()>,
    /// 0 until a signal came, then its number.
    signal: Arc<AtomicI32>,
}

impl Interrupt {
    /// Installs the handlers; `None` if they cannot be installed (runs then cannot be stopped
    /// cleanly, only killed).
    pub(super) fn install() -> Option<Interrupt> {
        let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP]).ok()?;
        let (tx, receiver) = bounded::<()>(0);
        let signal = Arc::new(AtomicI32::new(0));
        let seen = signal.clone();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut sender = Some(tx);
                for number in signals.forever() {
                    let _ = seen.compare_exchange(0, number, Ordering::SeqCst, Ordering::SeqCst);
                    sender.take();
                }
            })
            .ok()?;
        Some(Interrupt { receiver, signal })
    }

    /// The exit of a command that was interrupted, if it was.
    pub(super) fn exit(&self) -> Option<Exit> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            SIGTERM => Some(Exit::Interrupted(Signal::Terminate)),
            SIGHUP => Some(Exit::Interrupted(Signal::Hangup)),
            _ => Some(Exit::Interrupted(Signal::Interrupt)),
        }
    }

    /// Whether a signal came.
    pub(super) fn fired(&self) -> bool {
        self.exit().is_some()
    }
}

/// The receiver of `interrupt`, for `RunOptions`.
pub(super) fn receiver(interrupt: Option<&Interrupt>) -> Option<Receiver<()>> {
    interrupt.map(|i| i.receiver.clone())
}

/// `exit`, made `Interrupted` if a signal came meanwhile.
pub(super) fn unless_interrupted(exit: Exit, interrupt: Option<&Interrupt>) -> Exit {
    match interrupt.and_then(Interrupt::exit) {
        Some(interrupted) => exit.max(interrupted),
        None => exit,
    }
}
