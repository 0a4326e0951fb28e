//! The scenario stage of the pipeline: file text → raw serde mirror → checked model.

// The library's surface is what is re-exported below (the model, loading, and the two parsers
// the property tests and the fuzzers drive); the stages inside are the crate's own.
mod aliases;
mod load;
mod model;
pub(crate) mod payload;
mod positions;
mod raw;
pub(crate) mod schema;
mod tls;
mod validate;
mod vars;
pub(crate) mod visitors;
pub(crate) mod yaml;

pub use load::{
    LoadError, load_file, load_file_needing, load_file_with, load_source, load_source_needing,
    load_source_with,
};
pub use model::*;
pub use vars::{ENVIRONMENT_PREFIX, NeededVars, VarValues};
pub use visitors::parse_hex;
