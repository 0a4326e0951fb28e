//! What every thread of a run carries: where to send events, the stop signal, the clock and
//! the time scale.

use crossbeam::channel::Sender;

use super::cancel::Cancel;
use crate::event::{Event, EventKind, Origin};
use crate::plan::TimeScale;

/// What every thread of a run needs to report and to stop.
#[derive(Clone)]
pub struct Context {
    /// Where events go.
    pub events: Sender<Event>,
    /// The stop signal.
    pub cancel: Cancel,
    /// When the run started.
    pub started: std::time::Instant,
    /// The time scale.
    pub scale: TimeScale,
    /// When the scenario's `timeout` ends the run (`None` when serving until interrupted).
    pub deadline: Option<std::time::Instant>,
}

impl Context {
    /// `wanted`, cut to what is left before the scenario's deadline (at least a millisecond).
    pub fn bounded(&self, wanted: std::time::Duration) -> std::time::Duration {
        match self.deadline {
            Some(deadline) => wanted
                .min(deadline.saturating_duration_since(std::time::Instant::now()))
                .max(std::time::Duration::from_millis(1)),
            None => wanted,
        }
    }
}

impl Context {
    /// Sends an event stamped with the elapsed time (a closed channel means the run is over).
    pub fn emit(&self, origin: Origin, kind: EventKind) {
        let _ = self.events.send(Event {
            elapsed: self.started.elapsed(),
            origin,
            kind,
        });
    }
}
