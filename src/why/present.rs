//! A verdict told: each bind's outcome, each socket in the way with its holder, the rule that
//! makes it conflict and what would make the bind succeed; as text or as JSON.

use std::io::{self, Write};

use serde::Serialize;

use super::rules::{Judgement, Overlap, Rule, Sharing};
use crate::model::{ProcessInfo, Proto, SocketEntry, State};
use crate::sanitize::sanitize;

/// One bind's answer: the rules' judgement and, where it turned on what the kernel does not
/// report, a probe's.
pub struct Answer {
    pub judgement: Judgement,
    /// The probe bind's errno name (`None`: it succeeded); not made when the rules decided.
    pub probe: Option<Option<String>>,
}

impl Answer {
    /// The errno the bind gets: the rules', or the probe's where they could not tell (or
    /// where it found the address is not the machine's).
    pub fn errno(&self) -> Option<String> {
        match (&self.probe, self.judgement.errno()) {
            // The kernel checks the address first.
            (Some(Some(probed)), _) if probed == "EADDRNOTAVAIL" => Some(probed.clone()),
            (_, Some(errno)) => Some(errno.to_owned()),
            (Some(probed), None) => probed.clone(),
            (None, None) => None,
        }
    }
}

/// One reason, as data: the rule's name, what it says, what would help, the socket.
#[derive(Serialize)]
struct Reason<'a> {
    rule: &'static str,
    /// This reason alone makes the bind fail.
    fails: bool,
    /// It fails or not according to an option the kernel does not report.
    depends_on: Option<&'static str>,
    text: String,
    /// The text's parts, a line each on a terminal (how they overlap, whether they may
    /// share); empty when the text is one part.
    #[serde(skip)]
    parts: Vec<String>,
    fixes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    socket: Option<&'a SocketEntry>,
}

#[derive(Serialize)]
struct BindJson<'a> {
    proto: &'static str,
    address: String,
    v6only: Option<bool>,
    verdict: &'static str,
    errno: Option<String>,
    /// The probe bind's result, when one was made: `null` errno for success.
    probed: bool,
    reasons: Vec<Reason<'a>>,
}

#[derive(Serialize)]
struct WhyJson<'a> {
    verdict: &'static str,
    errno: Option<String>,
    binds: Vec<BindJson<'a>>,
    notes: &'a [String],
}

fn verdict(errno: Option<&String>) -> &'static str {
    match errno {
        None => "succeed",
        Some(_) => "fail",
    }
}

pub fn json(
    answers: &[Answer],
    sockets: &[SocketEntry],
    notes: &[String],
    out: &mut dyn Write,
) -> io::Result<()> {
    let binds: Vec<BindJson> = answers.iter().map(|a| bind_json(a, sockets)).collect();
    let errno = answers.iter().find_map(Answer::errno);
    let why = WhyJson {
        verdict: verdict(errno.as_ref()),
        errno,
        binds,
        notes,
    };
    serde_json::to_writer_pretty(&mut *out, &why)?;
    writeln!(out)
}

fn bind_json<'a>(answer: &Answer, sockets: &'a [SocketEntry]) -> BindJson<'a> {
    let bind = answer.judgement.bind;
    let errno = answer.errno();
    BindJson {
        proto: bind.proto.name(),
        address: bind.address.ip().to_string(),
        v6only: bind.address.is_ipv6().then_some(bind.v6only),
        verdict: verdict(errno.as_ref()),
        errno,
        probed: answer.probe.is_some(),
        reasons: reasons(&answer.judgement, sockets),
    }
}

pub fn text(
    answers: &[Answer],
    sockets: &[SocketEntry],
    notes: &[String],
    out: &mut dyn Write,
) -> io::Result<()> {
    for answer in answers {
        writeln!(out, "{}", headline(answer))?;
        if answer.errno().as_deref() == Some("EADDRNOTAVAIL") {
            let ip = answer.judgement.bind.address.ip();
            writeln!(
                out,
                "    {ip} is not an address of this machine (in this namespace)"
            )?;
            writeln!(
                out,
                "    to succeed: bind an address it has (ip address), or a wildcard"
            )?;
        }
        for reason in reasons(&answer.judgement, sockets) {
            if let Some(socket) = reason.socket {
                writeln!(out, "  in the way: {}", socket_line(socket))?;
            }
            match reason.parts.is_empty() {
                true => writeln!(out, "    {}", reason.text)?,
                false => {
                    for part in &reason.parts {
                        writeln!(out, "    {part}")?;
                    }
                }
            }
            for fix in &reason.fixes {
                writeln!(out, "    to succeed: {fix}")?;
            }
        }
    }
    for note in notes {
        writeln!(out, "note: {note}")?;
    }
    Ok(())
}

/// `tcp 0.0.0.0:8080 would fail: EADDRINUSE`, and how the verdict was reached when a probe
/// decided it.
fn headline(answer: &Answer) -> String {
    let bind = answer.judgement.bind;
    let mut options = Vec::new();
    if bind.address.is_ipv6() && bind.address.ip().is_unspecified() {
        options.push(if bind.v6only {
            "IPV6_V6ONLY"
        } else {
            "dual-stack"
        });
    }
    if bind.reuseaddr {
        options.push("SO_REUSEADDR");
    }
    if bind.reuseport {
        options.push("SO_REUSEPORT");
    }
    let options = match options.is_empty() {
        true => String::new(),
        false => format!(" ({})", options.join(", ")),
    };
    let outcome = match answer.errno() {
        None => "would succeed".to_owned(),
        Some(errno) => format!("would fail: {errno}"),
    };
    let probed = match answer.probe {
        Some(_) => " (the kernel's answer to a probe bind, made and closed at once)",
        None => "",
    };
    format!(
        "{} {}{options} {outcome}{probed}",
        bind.proto.name(),
        bind.address
    )
}

/// `127.0.0.1:8080 LISTEN, pid 4121 python3 (user root, unit web.service)`.
fn socket_line(socket: &SocketEntry) -> String {
    let state = socket.state().map_or("", State::label);
    let local = socket
        .inet()
        .map(|i| i.local.to_string())
        .unwrap_or_default();
    format!("{local} {state}, {}", holder(socket))
}

/// Who holds the socket: its processes, the kernel, or why none is named.
pub fn holder(socket: &SocketEntry) -> String {
    if let Some(kernel) = &socket.kernel {
        return sanitize(&kernel.label()).into_owned();
    }
    if socket.processes.is_empty() {
        let user = socket
            .user
            .as_deref()
            .map(|u| format!(" of user {}", sanitize(u)));
        return match (socket.owner_hidden, socket.inode) {
            (true, _) => format!("a process{} this run cannot see", user.unwrap_or_default()),
            (false, 0) => "no process (the kernel keeps it)".into(),
            (false, _) => "no process found".into(),
        };
    }
    let processes: Vec<String> = socket.processes.iter().map(|p| process(p)).collect();
    processes.join(", ")
}

/// `pid 4121 python3 (user web, unit api.service)`.
fn process(p: &ProcessInfo) -> String {
    let mut place = Vec::new();
    if let Some(user) = &p.user {
        place.push(format!("user {}", sanitize(user)));
    }
    if let Some(unit) = &p.unit {
        place.push(format!("unit {}", sanitize(unit)));
    }
    if let Some(container) = &p.container {
        place.push(format!("container {}", sanitize(&container.label())));
    }
    let place = match place.is_empty() {
        true => String::new(),
        false => format!(" ({})", place.join(", ")),
    };
    format!("pid {} {}{place}", p.pid, sanitize(p.program()))
}

fn reasons<'a>(judgement: &Judgement, sockets: &'a [SocketEntry]) -> Vec<Reason<'a>> {
    judgement
        .rules
        .iter()
        .map(|rule| reason(rule, judgement, sockets))
        .collect()
}

fn reason<'a>(rule: &Rule, judgement: &Judgement, sockets: &'a [SocketEntry]) -> Reason<'a> {
    let port = judgement.bind.address.port();
    match rule {
        Rule::Privileged { start } => Reason {
            rule: "privileged-port",
            fails: true,
            depends_on: None,
            text: format!(
                "ports below {start} (net.ipv4.ip_unprivileged_port_start) need \
                 CAP_NET_BIND_SERVICE, which this user does not have"
            ),
            parts: Vec::new(),
            fixes: vec![
                format!("use a port from {start} up"),
                "run it as root, or give the program the capability \
                 (setcap cap_net_bind_service=+ep PROGRAM, or systemd's AmbientCapabilities)"
                    .into(),
            ],
            socket: None,
        },
        Rule::InUse {
            socket,
            overlap,
            sharing,
        } => {
            let socket = &sockets[*socket];
            in_use(judgement, socket, *overlap, *sharing, port)
        }
        Rule::Forwarded { claim } => Reason {
            rule: "nat-claim",
            fails: false,
            depends_on: None,
            text: format!(
                "a NAT rule sends {}/{port} to {}: the bind succeeds, but clients' packets \
                 go there, not to it",
                claim.proto.name(),
                sanitize(&claim.to)
            ),
            parts: Vec::new(),
            fixes: vec!["remove the forward (the container's published port)".into()],
            socket: None,
        },
    }
}

fn in_use<'a>(
    judgement: &Judgement,
    socket: &'a SocketEntry,
    overlap: Overlap,
    sharing: Sharing,
    port: u16,
) -> Reason<'a> {
    let bind = judgement.bind;
    let ours = bind.address.ip();
    let theirs = socket.inet().map(|i| i.local.ip());
    let theirs = theirs.map(|ip| ip.to_string()).unwrap_or_default();
    let what = what_it_is(socket);
    let how = match overlap {
        Overlap::Same => format!("{what} is bound to {theirs}, the same address"),
        Overlap::OursCovers => {
            format!("{ours} covers every address, and {what} is bound to {theirs}")
        }
        Overlap::ItCovers => format!("{what} is bound to {theirs}, which covers {ours}"),
        Overlap::ItIsDualStack => {
            format!("{what} is bound to [::] without IPV6_V6ONLY, so it holds the IPv4 port too")
        }
        Overlap::OursIsDualStack => format!(
            "[::] without IPV6_V6ONLY would hold the IPv4 port too, where {what} is bound \
             to {theirs}"
        ),
    };
    let (rule, shares) = sharing_text(bind.proto, socket, sharing);
    Reason {
        rule,
        fails: matches!(sharing, Sharing::No | Sharing::OtherUser),
        depends_on: match sharing {
            Sharing::IfItSetReuseaddr => Some("SO_REUSEADDR"),
            Sharing::IfItSetReuseport => Some("SO_REUSEPORT"),
            _ => None,
        },
        text: format!("{how}; {shares}"),
        parts: vec![how, shares],
        fixes: fixes(socket, overlap, bind.proto, port),
        socket: Some(socket),
    }
}

/// `a listener`, `a connection in TIME-WAIT (41s left)`, `a TCP socket bound without listening`.
fn what_it_is(socket: &SocketEntry) -> String {
    match (socket.proto(), socket.state()) {
        (Some(Proto::Udp), _) => "a UDP socket".into(),
        (_, Some(State::Listen)) => "a listener".into(),
        (_, Some(State::Bound)) => {
            "a TCP socket bound without listening (bind() without listen() yet)".into()
        }
        (_, Some(State::TimeWait)) => match socket.expires_ms {
            Some(ms) => format!(
                "a closed connection in TIME-WAIT ({}s left)",
                ms.div_ceil(1000)
            ),
            None => "a closed connection in TIME-WAIT".into(),
        },
        (_, state) => format!("a connection ({})", state.map_or("?", State::label)),
    }
}

/// The rule's name, and whether reuse options could share the port.
fn sharing_text(proto: Proto, socket: &SocketEntry, sharing: Sharing) -> (&'static str, String) {
    let listening = proto == Proto::Tcp && socket.state() == Some(State::Listen);
    let rule = match (socket.state(), proto) {
        (Some(State::TimeWait), _) => "time-wait",
        (Some(State::Bound), _) => "bound-not-listening",
        (Some(State::Listen), _) => "listener",
        (_, Proto::Udp) => "udp-bound",
        _ => "connection",
    };
    let text = match sharing {
        Sharing::No if listening => "no option shares a port with a listener but SO_REUSEPORT \
             on both sockets (same user); the new socket does not set it"
            .to_owned(),
        Sharing::No => "the new socket sets neither SO_REUSEADDR nor SO_REUSEPORT, so the \
             kernel refuses to share the port"
            .to_owned(),
        Sharing::OtherUser => format!(
            "SO_REUSEPORT shares a port only among one user's sockets, and it is uid {}'s",
            socket.uid.map_or("?".into(), |u| u.to_string())
        ),
        Sharing::IfItSetReuseaddr => "they share the port if it set SO_REUSEADDR too, which \
             the kernel does not report"
            .to_owned(),
        Sharing::IfItSetReuseport => "they share the port if it set SO_REUSEPORT too, which \
             the kernel does not report"
            .to_owned(),
    };
    (rule, text)
}

/// What would make the bind succeed despite this socket.
fn fixes(socket: &SocketEntry, overlap: Overlap, proto: Proto, port: u16) -> Vec<String> {
    let mut fixes = Vec::new();
    match overlap {
        Overlap::OursCovers => {
            fixes.push("bind one address it is not bound to, not the wildcard".into())
        }
        Overlap::ItIsDualStack | Overlap::OursIsDualStack => {
            fixes.push("set IPV6_V6ONLY on the [::] socket (or bind one address)".into())
        }
        Overlap::Same | Overlap::ItCovers => fixes.push("use another port".into()),
    }
    match socket.state() {
        Some(State::TimeWait) => {
            let wait = socket
                .expires_ms
                .map_or(String::new(), |ms| format!(" {}s", ms.div_ceil(1000)));
            fixes.push(
                "set SO_REUSEADDR (--reuseaddr): it shares with a TIME-WAIT socket whose \
                 server set it too, as most servers do"
                    .into(),
            );
            fixes.push(format!("or wait{wait} for TIME-WAIT to end"));
        }
        Some(State::Listen) if proto == Proto::Tcp => fixes.push(
            "if it is another instance of the same server, run as the same user: SO_REUSEPORT \
             on both (--reuseport) shares the port"
                .into(),
        ),
        _ => {}
    }
    fixes.extend(stop(socket, proto, port));
    fixes
}

/// Stopping its holder: the unit, the container, or the processes (`ports kill`).
fn stop(socket: &SocketEntry, proto: Proto, port: u16) -> Option<String> {
    if socket.kernel.is_some() {
        return Some("delete the device, or give it another port".into());
    }
    let first = socket.processes.first()?;
    let suffix = if proto == Proto::Udp { "/udp" } else { "" };
    Some(match (&first.unit, &first.container) {
        (_, Some(container)) => format!("stop the container {}", sanitize(&container.label())),
        (Some(unit), None) => format!("stop the unit: systemctl stop {}", sanitize(unit)),
        (None, None) => format!("stop pid {}: ports kill {port}{suffix}", first.pid),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FakeSource;
    use crate::source::limits::BindLimits;
    use crate::why::rules::{Bind, judge};

    fn told(address: &str, json: bool) -> String {
        let sockets = FakeSource::sample().entries;
        let bind = Bind {
            proto: Proto::Tcp,
            address: address.parse().unwrap(),
            reuseaddr: false,
            reuseport: false,
            v6only: true,
        };
        let limits = BindLimits {
            may_bind_privileged: true,
            ..BindLimits::default()
        };
        let answer = Answer {
            judgement: judge(bind, &sockets, &limits, &[]),
            probe: None,
        };
        let mut out = Vec::new();
        match json {
            true => super::json(&[answer], &sockets, &[], &mut out).unwrap(),
            false => text(&[answer], &sockets, &[], &mut out).unwrap(),
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_listener_in_the_way_is_named_with_its_unit_and_what_helps() {
        let text = told("127.0.0.1:8080", false);
        assert!(
            text.starts_with("tcp 127.0.0.1:8080 would fail: EADDRINUSE\n"),
            "{text}"
        );
        let holder = "in the way: 0.0.0.0:8080 LISTEN, pid 1200 nginx (user root, unit \
             nginx.service), pid 1201 nginx (user www-data, unit nginx.service)";
        assert!(text.contains(holder), "{text}");
        assert!(text.contains("which covers 127.0.0.1"), "{text}");
        let stop = "to succeed: stop the unit: systemctl stop nginx.service";
        assert!(text.contains(stop), "{text}");
        // The connection on 8080 is in the way too: it holds the port until it closes.
        assert!(text.contains("a connection (ESTABLISHED)"), "{text}");
    }

    #[test]
    fn json_carries_the_verdict_errno_and_reasons() {
        let json: serde_json::Value = serde_json::from_str(&told("0.0.0.0:8080", true)).unwrap();
        assert_eq!(json["verdict"], "fail");
        assert_eq!(json["errno"], "EADDRINUSE");
        let reasons = json["binds"][0]["reasons"].as_array().unwrap();
        assert_eq!(reasons[0]["rule"], "listener");
        assert_eq!(reasons[0]["socket"]["local_port"], 8080);
        assert_eq!(reasons[0]["depends_on"], serde_json::Value::Null);
        let free: serde_json::Value = serde_json::from_str(&told("127.0.0.1:9", true)).unwrap();
        assert_eq!(free["verdict"], "succeed");
        assert!(free["errno"].is_null());
    }

    #[test]
    fn a_missing_address_comes_before_the_rules_and_a_probe_decides_only_the_unknown() {
        let bind = Bind {
            proto: Proto::Tcp,
            address: "192.0.2.1:80".parse().unwrap(),
            reuseaddr: false,
            reuseport: false,
            v6only: false,
        };
        let judgement = judge(bind, &[], &BindLimits::default(), &[]);
        assert_eq!(judgement.errno(), Some("EACCES"));
        let answer = |probe: Option<&str>| Answer {
            judgement: judgement.clone(),
            probe: Some(probe.map(str::to_owned)),
        };
        assert_eq!(
            answer(Some("EADDRNOTAVAIL")).errno().as_deref(),
            Some("EADDRNOTAVAIL")
        );
        // A probe that bound cannot overrule a certain refusal.
        assert_eq!(answer(None).errno().as_deref(), Some("EACCES"));
    }

    #[test]
    fn hostile_names_are_escaped() {
        let sockets = FakeSource::sample().entries;
        let evil = sockets
            .iter()
            .find(|s| s.local_port() == Some(9999))
            .unwrap();
        assert!(!holder(evil).contains('\x1b'), "{}", holder(evil));
    }
}
