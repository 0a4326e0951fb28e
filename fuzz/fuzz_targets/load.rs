//! Any bytes given as a scenario file: loading and validating must return a scenario or
//! diagnostics, never panic, and rendering the diagnostics must not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netlab::scenario::load_source;
use netlab::source::SourceFile;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(diagnostics) = load_source(SourceFile::new("fuzz.yaml", text)) {
        let _ = diagnostics.render(false);
    }
});
