//! `dnat ip to` in an inet table rewrites IPv4 packets only: the kernel skips it for IPv6.
//! Found by the seeded generator (tests/cli/firewall_seeded.rs).

use super::build::*;
use crate::firewall::eval::{Host, Interface, forwards};
use crate::firewall::rules::{Action, Policy, TableFamily};
use crate::model::{Reach, RuleRef};

/// The fixtures' host with a link-local IPv6 address on the veth, as the kernel gives it.
fn dual_stack() -> Host {
    let mut host = host();
    host.interfaces.push(Interface {
        name: "fwt-h".to_string(),
        addrs: vec![net("fe80::1/64")],
    });
    host
}

#[test]
fn an_ipv4_dnat_in_an_inet_table_leaves_ipv6_alone() {
    let nat = table(TableFamily::Inet, "t").nat(
        "pre",
        -100,
        vec![r(vec![tcp(), dport(8443)], dnat("10.213.0.1:443"))],
    );
    let filter = table(TableFamily::Ip, "f").base(
        "input",
        crate::firewall::rules::Hook::Input,
        0,
        Policy::Accept,
        vec![r(vec![tcp(), dport(443)], Action::Drop)],
    );
    let found = forwards(&ruleset(vec![nat, filter]), &dual_stack());
    let dropped = Reach::Dropped {
        by: by("ip", "f", "input", RuleRef::Handle(10)),
    };
    let reaches: Vec<&Reach> = found.iter().map(|f| &f.reach).collect();
    assert_eq!(reaches, [&dropped], "{found:#?}");
}
