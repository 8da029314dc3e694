//! Each rule of the evaluation on a hand-built ruleset.

use super::build::*;
use crate::firewall::eval::{Evaluator, Forward, forwards, reach};
use crate::firewall::rules::{Action, Field, Hook, Policy, Set, TableFamily, Value};
use crate::model::{Proto, Reach, RuleRef};

fn open() -> Reach {
    Reach::Open {
        assumed: Vec::new(),
    }
}

fn dropped(chain: &str, rule: RuleRef) -> Reach {
    Reach::Dropped {
        by: by("inet", "t", chain, rule),
    }
}

fn at(tables: Vec<crate::firewall::rules::Table>, probe: crate::firewall::eval::Probe) -> Reach {
    reach(&ruleset(tables), &host(), &probe)
}

#[test]
fn no_rules_and_an_accepting_policy_is_open() {
    assert_eq!(
        at(vec![input(Policy::Accept, vec![])], tcp_port(22)),
        open()
    );
}

#[test]
fn loopback_listeners_are_local_only_whatever_the_rules() {
    let tables = vec![input(Policy::Drop, vec![])];
    assert_eq!(at(tables.clone(), tcp_on("127.0.0.1:22")), Reach::LocalOnly);
    assert_eq!(at(tables.clone(), tcp_on("[::1]:22")), Reach::LocalOnly);
    assert_eq!(
        at(tables, tcp_on("[::ffff:127.0.0.1]:22")),
        Reach::LocalOnly
    );
}

#[test]
fn the_policy_decides_when_no_rule_does() {
    let tables = vec![input(
        Policy::Drop,
        vec![r(vec![tcp(), dport(22)], Action::Accept)],
    )];
    assert_eq!(at(tables.clone(), tcp_port(22)), open());
    assert_eq!(at(tables, tcp_port(80)), dropped("input", RuleRef::Policy));
}

#[test]
fn base_chains_run_by_priority_and_an_accept_goes_on_to_the_next() {
    let late = vec![r(vec![tcp(), dport(22)], Action::Reject)];
    let early = vec![
        r(vec![tcp(), dport(22)], Action::Accept),
        r(vec![tcp(), dport(80)], Action::Drop),
    ];
    let t = table(TableFamily::Inet, "t")
        .base("late", Hook::Input, 0, Policy::Accept, late)
        .base("early", Hook::Input, -10, Policy::Accept, early);
    let rejected = Reach::Rejected {
        by: by("inet", "t", "late", RuleRef::Handle(10)),
    };
    assert_eq!(at(vec![t.clone()], tcp_port(22)), rejected);
    // A drop is final: the later chain's rules are never read.
    assert_eq!(
        at(vec![t], tcp_port(80)),
        dropped("early", RuleRef::Handle(20))
    );
}

#[test]
fn jump_returns_to_the_caller_and_goto_does_not() {
    let t = input(
        Policy::Drop,
        vec![
            r(vec![tcp(), dport(22)], jump("sub")),
            r(vec![tcp(), dport(23)], goto("sub")),
            r(vec![tcp()], Action::Accept),
        ],
    )
    .chain(
        "sub",
        vec![
            r(vec![dport(22)], Action::Return),
            r(vec![dport(23)], Action::Return),
        ],
    );
    assert_eq!(at(vec![t.clone()], tcp_port(22)), open());
    assert_eq!(at(vec![t], tcp_port(23)), dropped("input", RuleRef::Policy));
}

#[test]
fn a_return_in_the_base_chain_leaves_it_to_the_policy() {
    let t = input(
        Policy::Drop,
        vec![r(vec![], Action::Return), r(vec![], Action::Accept)],
    );
    assert_eq!(at(vec![t], tcp_port(22)), dropped("input", RuleRef::Policy));
}

#[test]
fn a_chain_that_ends_returns_to_the_rule_after_the_jump() {
    let t = input(
        Policy::Accept,
        vec![r(vec![], jump("empty")), r(vec![dport(22)], Action::Drop)],
    )
    .chain("empty", vec![r(vec![dport(80)], Action::Accept)]);
    assert_eq!(at(vec![t.clone()], tcp_port(80)), open());
    assert_eq!(
        at(vec![t], tcp_port(22)),
        dropped("input", RuleRef::Handle(20))
    );
}

#[test]
fn verdict_maps_pick_the_entry_for_the_packet() {
    let vmap = Action::Vmap {
        field: Field::Dport,
        entries: vec![
            (Value::Port(22), Action::Accept),
            (Value::PortRange(5000, 5010), Action::Drop),
            (Value::Port(80), jump("web")),
        ],
    };
    let t = input(Policy::Drop, vec![r(vec![tcp()], vmap)])
        .chain("web", vec![r(vec![], Action::Accept)]);
    assert_eq!(at(vec![t.clone()], tcp_port(22)), open());
    assert_eq!(at(vec![t.clone()], tcp_port(80)), open());
    assert_eq!(
        at(vec![t.clone()], tcp_port(5005)),
        dropped("input", RuleRef::Handle(10))
    );
    assert_eq!(
        at(vec![t], tcp_port(443)),
        dropped("input", RuleRef::Policy)
    );
}

#[test]
fn named_sets_are_looked_up_in_the_rules_table() {
    let t = input(
        Policy::Drop,
        vec![r(vec![tcp(), dport_in("allowed")], Action::Accept)],
    )
    .set(
        "allowed",
        vec![Value::Port(22), Value::PortRange(8000, 8080)],
    );
    assert_eq!(at(vec![t.clone()], tcp_port(22)), open());
    assert_eq!(at(vec![t.clone()], tcp_port(8042)), open());
    assert_eq!(
        at(vec![t], tcp_port(8081)),
        dropped("input", RuleRef::Policy)
    );
}

#[test]
fn a_set_that_cannot_be_read_is_unknown_only_where_it_matters() {
    let mut t = input(
        Policy::Drop,
        vec![
            r(vec![tcp(), dport(22)], Action::Accept),
            r(vec![tcp(), dport_in("odd")], Action::Accept),
        ],
    );
    t.sets.push(Set {
        name: "odd".to_string(),
        values: Vec::new(),
        unknown: Some("concatenated type".to_string()),
    });
    assert_eq!(at(vec![t.clone()], tcp_port(22)), open());
    let unknown = Reach::Unknown {
        construct: "@odd (concatenated type)".to_string(),
    };
    assert_eq!(at(vec![t.clone()], tcp_port(80)), unknown);
    // udp never reaches the set: the tcp test fails first.
    assert_eq!(at(vec![t], udp_port(80)), dropped("input", RuleRef::Policy));
}

#[test]
fn port_ranges_include_both_ends() {
    let t = input(
        Policy::Drop,
        vec![r(vec![udp(), dports(60000, 61000)], Action::Accept)],
    );
    assert_eq!(at(vec![t.clone()], udp_port(60000)), open());
    assert_eq!(at(vec![t.clone()], udp_port(61000)), open());
    assert_eq!(
        at(vec![t.clone()], udp_port(61001)),
        dropped("input", RuleRef::Policy)
    );
    assert_eq!(
        at(vec![t], tcp_port(60500)),
        dropped("input", RuleRef::Policy)
    );
}

#[test]
fn interface_names_match_with_nft_and_iptables_wildcards() {
    let t = |name: &str| {
        vec![input(
            Policy::Accept,
            vec![r(vec![iifname(name)], Action::Drop)],
        )]
    };
    let drop = dropped("input", RuleRef::Handle(10));
    assert_eq!(at(t("fwt*"), tcp_on("10.213.0.1:22")), drop);
    assert_eq!(at(t("fwt+"), tcp_on("10.213.0.1:22")), drop);
    assert_eq!(at(t("fwt-h"), tcp_on("10.213.0.1:22")), drop);
    assert_eq!(at(t("eth*"), tcp_on("10.213.0.1:22")), open());
    assert_eq!(at(t("fwt"), tcp_on("10.213.0.1:22")), open());
}

#[test]
fn a_new_connection_is_ct_state_new_and_nothing_else() {
    let t = input(
        Policy::Drop,
        vec![
            r(vec![ct_state(&["established", "related"])], Action::Drop),
            r(vec![ct_state(&["invalid"])], Action::Drop),
            r(vec![ct_state(&["untracked"])], Action::Drop),
            r(vec![tcp(), dport(22), ct_state(&["new"])], Action::Accept),
            r(vec![tcp(), not(ct_state(&["new"]))], Action::Accept),
        ],
    );
    assert_eq!(at(vec![t.clone()], tcp_port(22)), open());
    assert_eq!(at(vec![t], tcp_port(23)), dropped("input", RuleRef::Policy));
}

/// firewalld's shape: a redirect in prerouting, `ct status dnat accept` in input.
fn redirecting() -> Vec<crate::firewall::rules::Table> {
    let pre = vec![r(vec![tcp(), dport(8443)], redirect(443))];
    let inp = vec![r(vec![word(Field::CtStatus, &["dnat"])], Action::Accept)];
    vec![table(TableFamily::Inet, "t").nat("pre", -100, pre).base(
        "input",
        Hook::Input,
        0,
        Policy::Drop,
        inp,
    )]
}

#[test]
fn ct_status_dnat_holds_after_a_prerouting_rewrite() {
    let forwarded = Reach::Forwarded {
        to: "10.213.0.1:443".parse().unwrap(),
        target: None,
        assumed: Vec::new(),
    };
    assert_eq!(at(redirecting(), tcp_on("10.213.0.1:8443")), forwarded);
    assert_eq!(
        at(redirecting(), tcp_port(443)),
        dropped("input", RuleRef::Policy)
    );
}

#[test]
fn a_redirect_is_published_to_the_interfaces_own_address() {
    let found = forwards(&ruleset(redirecting()), &host());
    let to = |a: &str| a.parse().unwrap();
    let expect = |addr: &str| Forward {
        proto: Proto::Tcp,
        port: 8443,
        daddr: None,
        to: to(addr),
        reach: Reach::Forwarded {
            to: to(addr),
            target: None,
            assumed: Vec::new(),
        },
    };
    assert_eq!(
        found,
        vec![expect("10.213.0.1:443"), expect("172.17.0.1:443")]
    );
}

/// Docker's shape: `fib daddr type local jump DOCKER`, DNAT there, a forward chain.
fn docker(forward: Vec<R>) -> Vec<crate::firewall::rules::Table> {
    let nat = table(TableFamily::Ip, "nat")
        .nat(
            "PREROUTING",
            -100,
            vec![r(vec![fib_local()], jump("DOCKER"))],
        )
        .chain(
            "DOCKER",
            vec![
                r(vec![iifname("docker0")], Action::Return),
                r(vec![tcp(), dport(18090)], dnat("172.17.0.2:8080")),
                r(
                    vec![daddr("127.0.0.1"), tcp(), dport(18091)],
                    dnat("172.17.0.3:8080"),
                ),
            ],
        );
    let filter =
        table(TableFamily::Ip, "filter").base("FORWARD", Hook::Forward, 0, Policy::Drop, forward);
    let input = input(
        Policy::Accept,
        vec![r(vec![tcp(), dport(18090)], Action::Drop)],
    );
    vec![nat, filter, input]
}

#[test]
fn a_dnat_goes_through_forward_not_input() {
    let accept = vec![r(
        vec![oifname("docker0"), daddr("172.17.0.2"), tcp(), dport(8080)],
        Action::Accept,
    )];
    let forwarded = Reach::Forwarded {
        to: "172.17.0.2:8080".parse().unwrap(),
        target: None,
        assumed: Vec::new(),
    };
    // The input chain's drop of 18090 never sees it.
    assert_eq!(at(docker(accept), tcp_port(18090)), forwarded);
    let policy = Reach::Dropped {
        by: by("ip", "filter", "FORWARD", RuleRef::Policy),
    };
    assert_eq!(at(docker(vec![]), tcp_port(18090)), policy);
}

#[test]
fn a_dnat_for_another_destination_does_not_apply() {
    let dropped_by_input = dropped("input", RuleRef::Handle(10));
    assert_eq!(
        at(docker(vec![]), tcp_on("10.213.0.1:18090")),
        Reach::Dropped {
            by: by("ip", "filter", "FORWARD", RuleRef::Policy),
        }
    );
    assert_eq!(at(docker(vec![]), tcp_port(18091)), open());
    let _ = dropped_by_input;
    let published = forwards(&ruleset(docker(vec![])), &host());
    assert!(published.iter().all(|f| f.port == 18090), "{published:?}");
}

#[test]
fn fib_daddr_type_local_is_false_after_a_dnat_elsewhere() {
    let pre = vec![r(vec![tcp(), dport(80)], dnat("172.17.0.2:80"))];
    let fwd = vec![
        r(vec![fib_local()], Action::Drop),
        r(vec![], Action::Accept),
    ];
    let t = table(TableFamily::Ip, "t").nat("pre", -100, pre).base(
        "fwd",
        Hook::Forward,
        0,
        Policy::Drop,
        fwd,
    );
    let forwarded = Reach::Forwarded {
        to: "172.17.0.2:80".parse().unwrap(),
        target: None,
        assumed: Vec::new(),
    };
    assert_eq!(at(vec![t], tcp_on("10.213.0.1:80")), forwarded);
}

#[test]
fn the_first_nat_chain_to_rewrite_wins() {
    let t = table(TableFamily::Ip, "t")
        .nat("second", -90, vec![r(vec![tcp()], dnat("172.17.0.9:1"))])
        .nat("first", -100, vec![r(vec![tcp()], redirect(2222))]);
    assert_eq!(
        at(vec![t], tcp_on("10.213.0.1:22")),
        Reach::Forwarded {
            to: "10.213.0.1:2222".parse().unwrap(),
            target: None,
            assumed: Vec::new(),
        }
    );
}

#[test]
fn an_unknown_match_matters_only_when_the_packet_reaches_it_undecided() {
    let t = input(
        Policy::Accept,
        vec![
            r(vec![tcp(), dport(22)], Action::Accept),
            r(vec![unknown("ct mark 0x1"), tcp(), dport(22)], Action::Drop),
            r(
                vec![unknown("meta mark 0x2"), tcp(), dport(80)],
                Action::Drop,
            ),
            r(vec![unknown("osf name Linux")], Action::Accept),
        ],
    );
    // Accepted before it, or failing another match: the unknown cannot matter.
    assert_eq!(at(vec![t.clone()], tcp_port(22)), open());
    // Either way the policy accepts too.
    assert_eq!(at(vec![t.clone()], tcp_port(443)), open());
    let unknown = Reach::Unknown {
        construct: "meta mark 0x2".to_string(),
    };
    assert_eq!(at(vec![t], tcp_port(80)), unknown);
}

#[test]
fn a_source_port_test_is_unknown_unless_it_cannot_matter() {
    let t = input(
        Policy::Drop,
        vec![r(vec![udp(), sport(67), dports(68, 68)], Action::Accept)],
    );
    assert_eq!(
        at(vec![t.clone()], udp_port(68)),
        Reach::Unknown {
            construct: "sport 67".to_string()
        }
    );
    assert_eq!(at(vec![t], udp_port(69)), dropped("input", RuleRef::Policy));
}

#[test]
fn assumed_rate_limits_are_said() {
    let t = input(
        Policy::Drop,
        vec![r(
            vec![
                tcp(),
                dport(2222),
                Match::AssumedToPass("limit 3/min".to_string()),
            ],
            Action::Accept,
        )],
    );
    let open = Reach::Open {
        assumed: vec!["limit 3/min".to_string()],
    };
    assert_eq!(at(vec![t.clone()], tcp_port(2222)), open);
    assert_eq!(at(vec![t], tcp_port(22)), dropped("input", RuleRef::Policy));
}

use crate::firewall::rules::Match;

#[test]
fn nested_source_prefixes_give_the_exact_passing_sources() {
    let t = input(
        Policy::Drop,
        vec![
            r(vec![saddr(&["10.1.0.0/16"])], Action::Drop),
            r(
                vec![saddr(&["10.0.0.0/8"]), tcp(), dport(3306)],
                Action::Accept,
            ),
            r(
                vec![saddr_range("192.168.1.0", "192.168.1.255")],
                Action::Accept,
            ),
        ],
    );
    let pass = [
        "10.0.0.0/16",
        "10.2.0.0/15",
        "10.4.0.0/14",
        "10.8.0.0/13",
        "10.16.0.0/12",
        "10.32.0.0/11",
        "10.64.0.0/10",
        "10.128.0.0/9",
        "192.168.1.0/24",
    ];
    let expect = Reach::SomeSources {
        pass: pass.iter().map(|n| net(n)).collect(),
        assumed: Vec::new(),
    };
    assert_eq!(at(vec![t.clone()], tcp_port(3306)), expect);
    let only_lan = Reach::SomeSources {
        pass: vec![net("192.168.1.0/24")],
        assumed: Vec::new(),
    };
    assert_eq!(at(vec![t], tcp_port(22)), only_lan);
}

#[test]
fn no_passing_source_is_the_verdict_for_sources_outside_every_prefix() {
    let t = input(
        Policy::Drop,
        vec![
            r(vec![saddr(&["10.0.0.0/8"])], Action::Reject),
            r(vec![tcp(), dport(22)], Action::Drop),
        ],
    );
    assert_eq!(
        at(vec![t], tcp_port(22)),
        dropped("input", RuleRef::Handle(20))
    );
}

fn v6_host() -> crate::firewall::eval::Host {
    let mut host = host();
    host.interfaces[1].addrs.push(net("fd00::1/64"));
    host
}

#[test]
fn ip_tables_see_ipv4_ip6_tables_ipv6_and_inet_tables_both() {
    let v4 = table(TableFamily::Ip, "four").base("in", Hook::Input, 0, Policy::Drop, vec![]);
    let v6 = table(TableFamily::Ip6, "six").base("in", Hook::Input, 0, Policy::Accept, vec![]);
    let rules = ruleset(vec![v4, v6]);
    let v6only = crate::firewall::eval::Probe {
        v6only: true,
        ..tcp_on("[::]:22")
    };
    let host = v6_host();
    assert_eq!(reach(&rules, &host, &v6only), open());
    let four = Reach::Dropped {
        by: by("ip", "four", "in", RuleRef::Policy),
    };
    assert_eq!(reach(&rules, &host, &tcp_port(22)), four);
    // A dual-stack listener is reachable through its IPv6 side.
    assert_eq!(reach(&rules, &host, &tcp_on("[::]:22")), open());
    let inet = input(Policy::Drop, vec![]);
    let both = ruleset(vec![inet]);
    assert_eq!(
        reach(&both, &host, &v6only),
        dropped("input", RuleRef::Policy)
    );
}

#[test]
fn an_ip_address_test_never_matches_the_other_family() {
    // `ip saddr != 10.0.0.0/8 drop` in an inet table leaves IPv6 alone.
    let t = input(
        Policy::Accept,
        vec![r(vec![not(saddr(&["10.0.0.0/8"]))], Action::Drop)],
    );
    let v6only = crate::firewall::eval::Probe {
        v6only: true,
        ..tcp_on("[::]:22")
    };
    assert_eq!(reach(&ruleset(vec![t]), &v6_host(), &v6only), open());
}

#[test]
fn a_listener_on_one_address_is_asked_about_that_address_only() {
    let t = input(
        Policy::Accept,
        vec![r(vec![iifname("docker0")], Action::Drop)],
    );
    assert_eq!(at(vec![t.clone()], tcp_on("10.213.0.1:22")), open());
    assert_eq!(
        at(vec![t.clone()], tcp_on("172.17.0.1:22")),
        dropped("input", RuleRef::Handle(10))
    );
    // Open on one address: reachable.
    assert_eq!(at(vec![t], tcp_port(22)), open());
}

#[test]
fn an_output_interface_test_in_forward_needs_a_known_route() {
    let pre = vec![r(vec![tcp()], dnat("192.0.2.7:80"))];
    let fwd = vec![r(vec![oifname("eth0")], Action::Accept)];
    let t = table(TableFamily::Ip, "t").nat("pre", -100, pre).base(
        "fwd",
        Hook::Forward,
        0,
        Policy::Drop,
        fwd,
    );
    let unknown = Reach::Unknown {
        construct: "oifname eth0 (no route known)".to_string(),
    };
    assert_eq!(at(vec![t], tcp_on("10.213.0.1:80")), unknown);
}

#[test]
fn netdev_base_chains_are_not_followed_and_say_so() {
    let ingress =
        table(TableFamily::Netdev, "edge").base("in", Hook::Ingress, 0, Policy::Accept, vec![]);
    let answer = at(vec![ingress], tcp_port(22));
    assert!(
        matches!(&answer, Reach::Unknown { construct } if construct.contains("netdev edge chain in")),
        "{answer:?}"
    );
}

#[test]
fn position_names_an_iptables_rule() {
    let mut t = input(
        Policy::Accept,
        vec![r(vec![], Action::Continue), r(vec![], Action::Drop)],
    );
    t.origin = crate::firewall::rules::Origin::IptablesNft;
    assert_eq!(
        at(vec![t], tcp_port(1)),
        dropped("input", RuleRef::Position(2))
    );
}

#[test]
fn the_evaluator_is_prepared_once_for_many_listeners() {
    let rules = ruleset(vec![input(
        Policy::Drop,
        vec![r(vec![tcp(), dport(22)], Action::Accept)],
    )]);
    let host = host();
    let evaluator = Evaluator::new(&rules, &host);
    assert_eq!(evaluator.reach(&tcp_port(22)), open());
    assert_eq!(
        evaluator.reach(&tcp_port(23)),
        dropped("input", RuleRef::Policy)
    );
}

#[test]
fn in_input_the_output_interface_is_empty() {
    let t = input(
        Policy::Drop,
        vec![
            r(vec![oifname("docker0")], Action::Drop),
            r(vec![not(oifname("docker0"))], Action::Accept),
        ],
    );
    assert_eq!(at(vec![t], tcp_port(22)), open());
}

#[test]
fn an_assumption_that_a_rule_does_not_trip_is_said_only_where_it_decides() {
    let over = || Match::AssumedToFail("recent --update --hitcount 6".to_string());
    let t = input(
        Policy::Drop,
        vec![
            r(vec![tcp(), dport(2222), over()], Action::Reject),
            r(vec![tcp(), dport(9), over()], Action::Drop),
            r(vec![tcp()], Action::Accept),
        ],
    );
    let open_assuming = Reach::Open {
        assumed: vec!["recent --update --hitcount 6".to_string()],
    };
    assert_eq!(at(vec![t.clone()], tcp_port(2222)), open_assuming);
    assert_eq!(at(vec![t], tcp_port(22)), open());
}

#[test]
fn a_rule_without_a_verdict_is_not_read() {
    let t = input(
        Policy::Accept,
        vec![r(
            vec![
                unknown("meta mark 0x1"),
                Match::AssumedToPass("limit 3/min".to_string()),
            ],
            Action::Continue,
        )],
    );
    assert_eq!(at(vec![t], tcp_port(22)), open());
}

#[test]
fn negated_protocol_and_port_tests() {
    let t = input(
        Policy::Accept,
        vec![
            r(vec![not(tcp())], Action::Drop),
            r(vec![tcp(), not(dports(1, 1023))], Action::Reject),
        ],
    );
    assert_eq!(at(vec![t.clone()], tcp_port(22)), open());
    assert_eq!(
        at(vec![t.clone()], udp_port(22)),
        dropped("input", RuleRef::Handle(10))
    );
    let rejected = Reach::Rejected {
        by: by("inet", "t", "input", RuleRef::Handle(20)),
    };
    assert_eq!(at(vec![t], tcp_port(8080)), rejected);
}

#[test]
fn a_verdict_map_on_the_source_cuts_the_sources_too() {
    let vmap = Action::Vmap {
        field: Field::Saddr,
        entries: vec![
            (Value::Net(net("10.0.0.0/8")), Action::Accept),
            (Value::Net(net("10.9.0.0/16")), Action::Drop),
        ],
    };
    let t = input(Policy::Drop, vec![r(vec![tcp()], vmap)]);
    let expect = Reach::SomeSources {
        pass: vec![net("10.0.0.0/8")],
        assumed: Vec::new(),
    };
    assert_eq!(at(vec![t], tcp_port(22)), expect);
}

#[test]
fn an_undecided_test_and_its_negation_are_different_questions() {
    // From port 53 the packet is accepted, from any other it is dropped: not `open`.
    let t = input(
        Policy::Accept,
        vec![
            r(vec![udp(), sport(53)], jump("dns")),
            r(vec![udp(), not(sport(53))], Action::Drop),
        ],
    )
    .chain("dns", vec![r(vec![], Action::Accept)]);
    let answer = at(vec![t], udp_port(5353));
    assert!(matches!(answer, Reach::Unknown { .. }), "{answer:?}");
}

#[test]
fn a_listener_on_an_address_no_interface_holds_is_not_guessed() {
    let answer = at(vec![input(Policy::Accept, vec![])], tcp_on("192.0.2.9:22"));
    let construct = "192.0.2.9, which no interface holds".to_string();
    assert_eq!(answer, Reach::Unknown { construct });
    // A host with loopback only: no other host can send to it.
    let lo_only = crate::firewall::eval::Host {
        interfaces: vec![host().interfaces[0].clone()],
    };
    let rules = ruleset(vec![input(Policy::Accept, vec![])]);
    assert_eq!(reach(&rules, &lo_only, &tcp_port(22)), Reach::LocalOnly);
}

#[test]
fn a_forward_limited_to_one_address_says_so_and_is_walked_there_only() {
    let pre = vec![r(
        vec![daddr("10.213.0.1"), tcp(), dport(8080)],
        dnat("172.17.0.5:80"),
    )];
    let fwd = vec![r(vec![], Action::Accept)];
    let t = table(TableFamily::Ip, "t").nat("pre", -100, pre).base(
        "fwd",
        Hook::Forward,
        0,
        Policy::Drop,
        fwd,
    );
    let found = forwards(&ruleset(vec![t]), &host());
    let to = "172.17.0.5:80".parse().unwrap();
    let expect = Forward {
        proto: Proto::Tcp,
        port: 8080,
        daddr: Some(net("10.213.0.1/32")),
        to,
        reach: Reach::Forwarded {
            to,
            target: None,
            assumed: Vec::new(),
        },
    };
    assert_eq!(found, vec![expect]);
}
