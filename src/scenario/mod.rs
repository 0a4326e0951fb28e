//! The scenario stage of the pipeline: file text → raw serde mirror → checked model.

pub mod aliases;
pub mod load;
pub mod model;
pub mod payload;
pub mod positions;
pub mod raw;
pub mod schema;
pub mod validate;
pub mod vars;
pub mod visitors;
pub mod yaml;

pub use load::{
    LoadError, load_file, load_file_needing, load_file_with, load_source, load_source_needing,
    load_source_with,
};
pub use model::*;
pub use vars::{NeededVars, VarValues};
