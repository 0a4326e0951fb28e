//! The text code a transcript is made of: escaping any bytes, reply templates and `exec`
//! placeholders on any text. None may panic; an escaped text is valid UTF-8 by construction.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netlab::escape::show;
use netlab::scenario::fill;
use netlab::scenario::parse_template;

fuzz_target!(|data: &[u8]| {
    let shown = show(data);
    assert!(!shown.is_empty());
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(reply) = parse_template(text) {
            let _ = reply.render(data);
        }
        let _ = fill(text, &|name| (name == "port").then(|| "1".to_string()));
    }
});
