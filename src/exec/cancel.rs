//! The stop signal shared by every thread of a run: a channel that is never sent on and is closed
//! by the coordinator, so that waiting threads wake at once and polling threads see it cheaply.

use std::time::Duration;

use crossbeam::channel::{Receiver, Sender, TryRecvError, bounded, select};

/// The coordinator's side: dropping it (or calling `stop`) stops the run.
pub struct StopHandle(Option<Sender<()>>);

/// A thread's side: tells whether the run is stopping, and sleeps unless it is.
#[derive(Clone)]
pub struct Cancel(Receiver<()>);

/// A new, linked pair.
pub fn pair() -> (StopHandle, Cancel) {
    let (tx, rx) = bounded(0);
    (StopHandle(Some(tx)), Cancel(rx))
}

impl StopHandle {
    /// Signals every `Cancel` of the pair.
    pub fn stop(&mut self) {
        self.0 = None;
    }
}

impl Cancel {
    /// True once the run is stopping.
    pub fn is_set(&self) -> bool {
        !matches!(self.0.try_recv(), Err(TryRecvError::Empty))
    }

    /// A `Cancel` set by `interrupt` (a message on it, or its closing: Ctrl-C), for the waits
    /// before a run's own stop signal exists; never set if there is none.
    pub fn on_interrupt(interrupt: Option<&Receiver<()>>) -> Cancel {
        Cancel(interrupt.cloned().unwrap_or_else(crossbeam::channel::never))
    }

    /// The channel that closes when the run stops, to wait on beside others.
    pub fn receiver(&self) -> &Receiver<()> {
        &self.0
    }

    /// Sleeps for `duration`; returns false (early) if the run stops meanwhile.
    pub fn sleep(&self, duration: Duration) -> bool {
        if duration.is_zero() {
            return !self.is_set();
        }
        select! {
            recv(self.0) -> _ => false,
            default(duration) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn stop_wakes_a_sleeper_at_once() {
        let (mut handle, cancel) = pair();
        let sleeper = std::thread::spawn(move || {
            let start = Instant::now();
            let completed = cancel.sleep(Duration::from_secs(30));
            (completed, start.elapsed())
        });
        std::thread::sleep(Duration::from_millis(20));
        handle.stop();
        let joined = sleeper.join();
        assert!(joined.is_ok_and(|(completed, took)| !completed && took < Duration::from_secs(10)));
    }

    #[test]
    fn sleep_completes_when_not_stopped() {
        let (_handle, cancel) = pair();
        assert!(cancel.sleep(Duration::from_millis(1)));
        assert!(!cancel.is_set());
    }
}
