//! The report stage: what a person sees. The live view prints events as they happen; the
//! summary gives one verdict line per scenario.

mod live;
mod summary;

pub use live::LiveView;
pub use summary::verdict_line;
