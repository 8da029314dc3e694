//! `--local`/`--remote` values: an address or CIDR, or an error naming the text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Err(message) = ports::filter::parse_net(text) {
        assert!(message.contains(text));
    }
});
