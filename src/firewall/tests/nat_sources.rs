//! A prerouting rewrite that only some sources get through, or that only some sources meet.
//! Found by the seeded generator (tests/cli/firewall_seeded.rs).

use super::build::*;
use crate::firewall::eval::{forwards, reach};
use crate::firewall::rules::{Action, Hook, Policy, Table, TableFamily};
use crate::model::{Proto, Reach};

/// A redirect from 8443 to 443 (for `only` sources, when given), then an input chain.
fn redirected(only: Option<&str>, inp: Vec<R>) -> Vec<Table> {
    let mut when = vec![tcp(), dport(8443)];
    when.extend(only.map(|net| saddr(&[net])));
    let t = table(TableFamily::Inet, "t").nat("pre", -100, vec![r(when, redirect(443))]);
    vec![t.base("input", Hook::Input, 0, Policy::Accept, inp)]
}

/// The sources a some-sources answer lets through, or a panic naming the answer.
fn passing(reach: &Reach) -> Vec<String> {
    match reach {
        Reach::SomeSources { pass, .. } => pass.iter().map(ToString::to_string).collect(),
        other => panic!("not some sources: {other:?}"),
    }
}

#[test]
fn a_forward_that_some_sources_are_dropped_after_is_some_sources() {
    let tables = redirected(None, vec![r(vec![saddr(&["10.213.0.2"])], Action::Drop)]);
    let answer = reach(&ruleset(tables), &host(), &tcp_port(8443));
    let pass = passing(&answer);
    let holds = |a: &str| pass.iter().any(|n| net(n).contains(&ip(a)));
    assert!(!holds("10.213.0.2") && holds("10.213.0.3"), "{pass:?}");
}

#[test]
fn a_claimed_port_passes_only_the_sources_its_rewrite_takes() {
    let tables = redirected(Some("192.168.7.0/24"), vec![]);
    let found = forwards(&ruleset(tables), &host());
    assert!(!found.is_empty());
    for forward in found {
        assert_eq!((forward.proto, forward.port), (Proto::Tcp, 8443));
        // Other sources are not rewritten and meet no socket on 8443.
        assert_eq!(passing(&forward.reach), ["192.168.7.0/24"]);
    }
}
