//! The report stage: what a person or a CI system sees. The live view prints events as they
//! happen; the summary gives one verdict line per scenario; `json` and `junit` report suites.

pub mod diagram;
mod fold;
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
mod live;
mod markup;
mod summary;

pub use live::{LiveView, listening_tls};
pub use summary::verdict_line;
