//! The fewest prefixes for a set of address spans.

use crate::firewall::sources::prefixes;

fn v4(text: &str) -> u128 {
    let addr: std::net::Ipv4Addr = text.parse().unwrap();
    u128::from(u32::from(addr))
}

fn shown(spans: Vec<(u128, u128)>, v6: bool) -> Vec<String> {
    prefixes(spans, v6)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn one_aligned_block_is_one_prefix() {
    let span = (v4("192.168.1.0"), v4("192.168.1.255"));
    assert_eq!(shown(vec![span], false), ["192.168.1.0/24"]);
}

#[test]
fn adjacent_spans_merge_before_they_are_cut() {
    let a = (v4("10.0.0.0"), v4("10.0.0.127"));
    let b = (v4("10.0.0.128"), v4("10.0.0.255"));
    assert_eq!(shown(vec![b, a], false), ["10.0.0.0/24"]);
}

#[test]
fn an_unaligned_range_is_the_largest_blocks_in_order() {
    let span = (v4("10.0.0.1"), v4("10.0.0.6"));
    assert_eq!(
        shown(vec![span], false),
        ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]
    );
}

#[test]
fn the_whole_space_is_one_prefix() {
    assert_eq!(shown(vec![(0, u128::from(u32::MAX))], false), ["0.0.0.0/0"]);
    assert_eq!(shown(vec![(0, u128::MAX)], true), ["::/0"]);
}
