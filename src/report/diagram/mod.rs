//! The sequence diagram of a run: one lane per client instance, server and program under test,
//! an arrow per message, greeting, reply, close, reset and datagram, in the transcript's causal
//! order and laid out by declared time (`layout.rs`), drawn as static SVG (`svg.rs`).

mod layout;
mod svg;

pub use layout::lay_out;

use crate::scenario::Scenario;
use crate::transcript::Transcript;

/// The diagram of `transcript`, a run of `scenario`, as an SVG document; `id` names what it
/// defines (unique among the diagrams of one page).
pub fn svg(scenario: &Scenario, transcript: &Transcript, id: &str) -> String {
    let layout = lay_out(scenario, transcript);
    svg::draw(&layout, &format!("scenario {}", scenario.name), id)
}
