//! One packet's way through the hooks: prerouting base chains by priority (a nat chain may
//! rewrite the destination), the routing decision, then input or forward, each base chain
//! with the chains it jumps to.

use std::net::{IpAddr, SocketAddr};

use crate::model::{Decider, RuleRef};

use super::matches::{self, Oif, Packet, Tri};
use super::prepared::{FORWARD, INPUT, PREROUTING, Prepared};
use super::rules::{Action, ChainKind, Field, Match, Origin, Policy, Rule, Values};

/// Rules read for one packet before the walk gives up (nft refuses loops; this is a guard).
const MAX_STEPS: usize = 200_000;

/// Where a new connection ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Accepted by the input chains, at this (possibly rewritten) destination.
    Delivered(SocketAddr),
    /// Accepted by the forward chains towards this destination.
    Forwarded(SocketAddr),
    Dropped(Decider),
    Rejected(Decider),
    Unknown(String),
}

#[derive(Debug, Clone)]
pub(super) struct Outcome {
    pub verdict: Verdict,
    /// Rate limits and the like taken to pass on the way.
    pub assumed: Vec<String>,
    /// A saddr test was read: another source might go another way.
    pub saddr_tested: bool,
    /// The destination after a prerouting DNAT or redirect.
    pub rewritten: Option<SocketAddr>,
}

/// A construct the walk cannot decide: the packet is walked again both ways.
struct Need(String);

/// One walk of the packet, with the undecided constructs answered so far; `Err` names the
/// next one to answer (and says whether an saddr test was read before it).
pub(super) fn walk(
    prep: &Prepared,
    pkt: &Packet,
    oracle: &[(String, bool)],
) -> Result<Outcome, (String, bool)> {
    let mut walker = Walker {
        prep,
        oracle,
        assumed: Vec::new(),
        saddr_tested: false,
        steps: 0,
    };
    walker
        .run(pkt.clone())
        .map_err(|Need(what)| (what, walker.saddr_tested))
}

/// Whether conntrack (its prerouting hook at -200) has seen a packet in a chain of `hook` at
/// `priority`; `None` at -200 itself.
fn tracked(hook: usize, priority: i32) -> Option<bool> {
    const CONNTRACK: i32 = -200;
    match (hook, priority.cmp(&CONNTRACK)) {
        (PREROUTING, std::cmp::Ordering::Less) => Some(false),
        (PREROUTING, std::cmp::Ordering::Equal) => None,
        _ => Some(true),
    }
}

/// How a base chain's walk ended.
enum End {
    Accept,
    /// Its rules ran out (or returned): the policy decides.
    Policy,
    Drop(Decider),
    Reject(Decider),
    Dnat(Option<IpAddr>, Option<u16>),
    Redirect(Option<u16>),
    Unknown(String),
}

/// What one matching rule's action asks for.
enum Step<'r> {
    Next,
    Return,
    /// A jump (`keep`: return here after) or a goto.
    Enter {
        chain: &'r str,
        keep: bool,
    },
    Accept,
    Drop,
    Reject,
    Dnat(Option<IpAddr>, Option<u16>),
    Redirect(Option<u16>),
    Unknown(String),
}

struct Walker<'p, 'r> {
    prep: &'p Prepared<'r>,
    oracle: &'p [(String, bool)],
    assumed: Vec<String>,
    saddr_tested: bool,
    steps: usize,
}

impl<'r> Walker<'_, 'r> {
    fn run<'h>(&mut self, mut pkt: Packet<'h>) -> Result<Outcome, Need>
    where
        'r: 'h,
    {
        let verdict = self.through(&mut pkt)?;
        let rewritten = pkt.dnat.then(|| SocketAddr::new(pkt.daddr, pkt.dport));
        Ok(Outcome {
            verdict,
            assumed: std::mem::take(&mut self.assumed),
            saddr_tested: self.saddr_tested,
            rewritten,
        })
    }

    fn through<'h>(&mut self, pkt: &mut Packet<'h>) -> Result<Verdict, Need>
    where
        'r: 'h,
    {
        if let Some(end) = self.hook(pkt, PREROUTING)? {
            return Ok(end);
        }
        let to = SocketAddr::new(pkt.daddr, pkt.dport);
        if self.prep.host.is_local(pkt.daddr) {
            pkt.oif = Oif::None;
            Ok(self.hook(pkt, INPUT)?.unwrap_or(Verdict::Delivered(to)))
        } else {
            pkt.oif = self
                .prep
                .host
                .route(pkt.daddr)
                .map_or(Oif::Unknown, Oif::Known);
            Ok(self.hook(pkt, FORWARD)?.unwrap_or(Verdict::Forwarded(to)))
        }
    }

    /// Every base chain of the hook in turn; `None` when all let the packet on.
    fn hook(&mut self, pkt: &mut Packet, hook: usize) -> Result<Option<Verdict>, Need> {
        let prep = self.prep;
        let mut natted = false;
        for &(t, c) in prep.hook(pkt.v6, hook) {
            let Some(base) = &prep.ruleset.tables[t].chains[c].base else {
                continue;
            };
            pkt.tracked = tracked(hook, base.priority);
            if base.kind == ChainKind::Nat && natted {
                // The first nat chain to bind a mapping is the only one consulted.
                continue;
            }
            match self.chain(pkt, t, c)? {
                End::Accept => {}
                End::Policy if base.policy == Policy::Accept => {}
                End::Policy => return Ok(Some(Verdict::Dropped(self.decider(t, c, None)))),
                End::Drop(by) => return Ok(Some(Verdict::Dropped(by))),
                End::Reject(by) => return Ok(Some(Verdict::Rejected(by))),
                End::Unknown(what) => return Ok(Some(Verdict::Unknown(what))),
                End::Dnat(addr, port) => {
                    pkt.daddr = addr.unwrap_or(pkt.daddr);
                    pkt.dport = port.unwrap_or(pkt.dport);
                    (pkt.dnat, natted) = (true, true);
                }
                End::Redirect(port) => {
                    let Some(addr) = prep.host.primary(pkt.iif, pkt.v6) else {
                        let what = format!("redirect on {}, which has no address", pkt.iif);
                        return Ok(Some(Verdict::Unknown(what)));
                    };
                    pkt.daddr = addr;
                    pkt.dport = port.unwrap_or(pkt.dport);
                    (pkt.dnat, natted) = (true, true);
                }
            }
        }
        Ok(None)
    }

    /// A base chain and the chains it jumps to, until a verdict or the end.
    fn chain(&mut self, pkt: &Packet, t: usize, base: usize) -> Result<End, Need> {
        let chains = &self.prep.ruleset.tables[t].chains;
        let mut stack: Vec<(usize, usize)> = Vec::new();
        let (mut c, mut i) = (base, 0);
        loop {
            let (next, len) = (
                self.prep.next_rule(t, c, i, pkt.dport),
                chains[c].rules.len(),
            );
            // Rules the port index skips count as read: the loop guard trips where it would
            // reading them one by one.
            self.steps += next.min(len) - i.min(len) + usize::from(next < len);
            if self.steps > MAX_STEPS {
                return Ok(End::Unknown(format!(
                    "a loop through chain {}",
                    chains[c].name
                )));
            }
            i = next;
            let Some(rule) = chains[c].rules.get(i) else {
                match stack.pop() {
                    Some(caller) => (c, i) = caller,
                    None => return Ok(End::Policy),
                }
                continue;
            };
            i += 1;
            // A rule with no verdict (counter, log) cannot change the way: its tests and
            // their assumptions are not read.
            if matches!(rule.action, Action::Continue) || !self.holds(pkt, t, rule)? {
                continue;
            }
            match self.step(pkt, &rule.action)? {
                Step::Next => {}
                Step::Accept => return Ok(End::Accept),
                Step::Drop => return Ok(End::Drop(self.decider(t, c, Some(rule)))),
                Step::Reject => return Ok(End::Reject(self.decider(t, c, Some(rule)))),
                Step::Dnat(addr, port) => return Ok(End::Dnat(addr, port)),
                Step::Redirect(port) => return Ok(End::Redirect(port)),
                Step::Unknown(what) => return Ok(End::Unknown(what)),
                Step::Return => match stack.pop() {
                    Some(caller) => (c, i) = caller,
                    None => return Ok(End::Policy),
                },
                Step::Enter { chain, keep } => {
                    let Some(target) = self.prep.target(t, c, i - 1, chain) else {
                        return Ok(End::Unknown(format!("jump to {chain}, no such chain")));
                    };
                    // A goto replaces the frame: a return then goes back past it.
                    if keep {
                        stack.push((c, i));
                    }
                    (c, i) = (target, 0);
                }
            }
        }
    }

    /// Whether every match of the rule holds for the packet.
    fn holds(&mut self, pkt: &Packet, t: usize, rule: &Rule) -> Result<bool, Need> {
        if self.fails_plainly(pkt, t, rule) {
            return Ok(false);
        }
        let mut need = None;
        let (mut assumed, mut refuted) = (Vec::new(), None);
        for m in &rule.matches {
            let tri = match m {
                Match::Test {
                    field,
                    negated,
                    values,
                } => {
                    self.saddr_tested |= *field == Field::Saddr;
                    self.test(pkt, t, *field, *negated, values)
                }
                Match::AssumedToPass(text) => {
                    assumed.push(text);
                    Tri::Yes
                }
                // Weighed after the others: it matters only when they all hold.
                Match::AssumedToFail(text) => {
                    refuted.get_or_insert(text);
                    Tri::Yes
                }
                Match::Unknown(text) => Tri::Maybe(text.clone()),
            };
            match self.resolve(tri) {
                Ok(true) => {}
                // A failing match decides, whatever the undecided ones would say.
                Ok(false) => return Ok(false),
                Err(what) => {
                    need.get_or_insert(what);
                }
            }
        }
        if let Some(text) = refuted {
            self.note(text);
            return Ok(false);
        }
        if let Some(need) = need {
            return Err(need);
        }
        assumed.into_iter().for_each(|text| self.note(text));
        Ok(true)
    }

    /// A test settled without the source address or an undecided construct fails: most
    /// rules end here, and the walk then does not depend on the source (see `saddr_tested`).
    fn fails_plainly(&self, pkt: &Packet, t: usize, rule: &Rule) -> bool {
        rule.matches.iter().any(|m| match m {
            Match::Test {
                field,
                negated,
                values,
            } if !matches!(field, Field::Saddr | Field::Sport) => match values {
                Values::List(list) => match matches::quick(pkt, *field, list) {
                    Some(holds) => holds == *negated,
                    None => self.test(pkt, t, *field, *negated, values) == Tri::No,
                },
                Values::Set(_) => self.test(pkt, t, *field, *negated, values) == Tri::No,
            },
            _ => false,
        })
    }

    /// An assumption the answer rests on.
    fn note(&mut self, text: &str) {
        if !self.assumed.iter().any(|a| a == text) {
            self.assumed.push(text.to_string());
        }
    }

    fn test(&self, pkt: &Packet, t: usize, field: Field, negated: bool, values: &Values) -> Tri {
        let values = match values {
            Values::List(list) => list.as_slice(),
            Values::Set(name) => {
                let set = self.prep.sets[t].get(name.as_str());
                let by_spans = set.and_then(|&s| self.prep.address_test(t, s, field, negated, pkt));
                if let Some(answer) = by_spans {
                    return answer;
                }
                let set = set.map(|&s| &self.prep.ruleset.tables[t].sets[s]);
                match matches::set_values(set, name) {
                    Ok(values) => values,
                    Err(what) => return matches::maybe(what, negated),
                }
            }
        };
        matches::test(pkt, self.prep.host, field, negated, values)
    }

    fn resolve(&self, tri: Tri) -> Result<bool, Need> {
        match tri {
            Tri::Yes => Ok(true),
            Tri::No => Ok(false),
            Tri::Maybe(what) => match self.oracle.iter().find(|(w, _)| *w == what) {
                Some(&(_, holds)) => Ok(holds),
                None => Err(Need(what)),
            },
        }
    }

    fn step(&mut self, pkt: &Packet, action: &'r Action) -> Result<Step<'r>, Need> {
        Ok(match action {
            Action::Accept => Step::Accept,
            Action::Drop => Step::Drop,
            Action::Reject => Step::Reject,
            Action::Jump(chain) => Step::Enter { chain, keep: true },
            Action::Goto(chain) => Step::Enter { chain, keep: false },
            Action::Return => Step::Return,
            Action::Continue => Step::Next,
            // `dnat ip to` in an inet table: the kernel skips it for the other family.
            Action::Dnat { addr: Some(a), .. } if a.is_ipv6() != pkt.v6 => Step::Next,
            Action::Dnat { addr, port } => Step::Dnat(*addr, *port),
            Action::Redirect { port } => Step::Redirect(*port),
            Action::Unknown(what) => Step::Unknown(what.clone()),
            Action::Vmap { field, entries } => {
                self.saddr_tested |= *field == Field::Saddr;
                for (value, action) in entries {
                    let key = std::slice::from_ref(value);
                    let tri = matches::test(pkt, self.prep.host, *field, false, key);
                    if self.resolve(tri)? {
                        return self.step(pkt, action);
                    }
                }
                Step::Next
            }
        })
    }

    fn decider(&self, t: usize, c: usize, rule: Option<&Rule>) -> Decider {
        let table = &self.prep.ruleset.tables[t];
        let rule = match rule {
            None => RuleRef::Policy,
            Some(Rule {
                handle: Some(handle),
                ..
            }) if table.origin == Origin::Nft => RuleRef::Handle(*handle),
            Some(rule) => RuleRef::Position(rule.position),
        };
        Decider {
            family: table.family.name().to_string(),
            table: table.name.clone(),
            chain: table.chains[c].name.clone(),
            rule,
        }
    }
}
