//! `PORT|RANGE` arguments: any text parses to a valid range or gives an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ports::filter::PortRange;

fuzz_target!(|text: &str| {
    match text.parse::<PortRange>() {
        Ok(range) => assert!(range.first >= 1 && range.first <= range.last),
        Err(message) => assert!(!message.is_empty()),
    }
});
