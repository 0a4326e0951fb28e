//! The sequence diagram of a run: one lane per client instance, server and program under test,
//! an arrow per message, greeting, reply, close, reset and datagram, in the transcript's causal
//! order and laid out by declared time (`layout.rs`), drawn as static SVG (`svg.rs`).

mod layout;
mod svg;

pub use svg::svg;
