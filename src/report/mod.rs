//! The report stage: what a person or a CI system sees. The live view prints events as they
//! happen; the summary gives one verdict line per scenario; `json` and `junit` report suites.

mod fold;
pub mod github;
pub mod json;
pub mod junit;
mod live;
mod summary;

pub use live::LiveView;
pub use summary::verdict_line;
