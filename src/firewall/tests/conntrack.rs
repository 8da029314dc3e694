//! Where conntrack stands: prerouting chains before its hook (priority -200) see packets it has
//! not looked at yet. Found by the seeded generator (tests/cli/firewall_seeded.rs).

use super::build::*;
use crate::firewall::eval::reach;
use crate::firewall::rules::{Action, Field, Hook, Policy, Table, TableFamily};
use crate::model::{Reach, RuleRef};

fn raw(rules: Vec<R>) -> Vec<Table> {
    let t =
        table(TableFamily::Inet, "t").base("raw", Hook::Prerouting, -300, Policy::Accept, rules);
    vec![t.base("input", Hook::Input, 0, Policy::Accept, vec![])]
}

fn at(tables: Vec<Table>, port: u16) -> Reach {
    reach(&ruleset(tables), &host(), &tcp_port(port))
}

fn dropped_by(handle: u64) -> Reach {
    Reach::Dropped {
        by: by("inet", "t", "raw", RuleRef::Handle(handle)),
    }
}

#[test]
fn before_conntrack_a_new_packet_is_ct_state_invalid() {
    let t = raw(vec![
        r(vec![dport(22), ct_state(&["new"])], Action::Drop),
        r(vec![dport(23), ct_state(&["invalid"])], Action::Drop),
        r(
            vec![dport(24), not(ct_state(&["established"]))],
            Action::Drop,
        ),
    ]);
    let open = Reach::Open {
        assumed: Vec::new(),
    };
    assert_eq!(at(t.clone(), 22), open);
    assert_eq!(at(t.clone(), 23), dropped_by(20));
    assert_eq!(at(t, 24), dropped_by(30));
}

#[test]
fn before_conntrack_no_ct_status_test_matches_even_negated() {
    let t = raw(vec![
        r(
            vec![dport(22), word(Field::CtStatus, &["dnat"])],
            Action::Drop,
        ),
        r(
            vec![dport(22), not(word(Field::CtStatus, &["dnat"]))],
            Action::Drop,
        ),
    ]);
    let open = Reach::Open {
        assumed: Vec::new(),
    };
    assert_eq!(at(t, 22), open);
}
