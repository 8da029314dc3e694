//! `--state` values: a known state, or an error naming the text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match ports::filter::parse_state(text) {
        Ok(state) => assert_eq!(ports::filter::parse_state(state.name()), Ok(state)),
        Err(message) => assert!(message.contains(text)),
    }
});
