//! `ports wait PORT`: for scripts and CI, `start-server & ports wait 8080 && run-tests`. Polls
//! the kernel's dump for the one port (no process's fds are read) every 100 ms at most, until a
//! TCP listener or a UDP socket is on it, or with `--free` until nothing listens on it or is
//! bound to it (a connection left in TIME-WAIT is not waited for: SO_REUSEADDR binds past it).

use std::time::{Duration, Instant};

use anyhow::Context;

use crate::exit::ExitCode;
use crate::filter::PortSpec;
use crate::kill::holds_port;
use crate::model::{Proto, SocketEntry, State};
use crate::source::{NetnsScope, Query, SocketSource};

/// How often the port is looked at: often enough to answer within a tenth of a second, and
/// each look is one narrow dump (docs/performance.md has its cost).
pub const INTERVAL: Duration = Duration::from_millis(100);

/// What to wait for.
pub struct Request {
    pub port: PortSpec,
    pub timeout: Duration,
    /// Until nothing holds the port, rather than until something listens on it.
    pub free: bool,
    pub netns: NetnsScope,
}

/// Waits; `Matched` when the port became what was asked, `NoMatch` with a note at the timeout.
pub fn run(
    request: &Request,
    source: &mut dyn SocketSource,
) -> anyhow::Result<(ExitCode, Option<String>)> {
    let deadline = Instant::now() + request.timeout;
    let query = query(request);
    loop {
        // A namespace that does not exist yet (a container still starting) is looked for
        // again until the deadline; the last failure is the answer if it never comes.
        let looked = source.snapshot(&query).context("cannot list sockets");
        if looked.as_ref().is_ok_and(|s| done(request, &s.sockets)) {
            return Ok((ExitCode::Matched, None));
        }
        let now = Instant::now();
        if now >= deadline {
            looked?;
            return Ok((ExitCode::NoMatch, Some(timed_out(request))));
        }
        std::thread::sleep(INTERVAL.min(deadline - now));
    }
}

/// The one port in the kernel's filter, its protocol if given, and no owners. Waiting for a
/// server asks only for listeners and unconnected UDP, so the kernel walks only its listening
/// hash; `--free` needs every state that holds a port.
fn query(request: &Request) -> Query {
    let range = request.port.range;
    let states = match request.free {
        true => Vec::new(),
        false => vec![State::Listen, State::Unconn],
    };
    Query {
        port: (range.first == range.last).then_some(range.first),
        protos: request.port.proto.into_iter().collect(),
        states,
        owners_among: Some(Vec::new()),
        netns: request.netns.clone(),
        ..Query::default()
    }
}

/// Whether the wait is over.
pub fn done(request: &Request, sockets: &[SocketEntry]) -> bool {
    let ports = std::slice::from_ref(&request.port);
    match request.free {
        true => !sockets.iter().any(|entry| holds_port(entry, ports)),
        false => sockets.iter().any(|entry| serving(entry, &request.port)),
    }
}

/// A socket a client can reach on the port: a TCP listener (a socket bound but not yet
/// listening refuses connections, so it does not end the wait), or a UDP socket bound to it.
fn serving(entry: &SocketEntry, port: &PortSpec) -> bool {
    let Some(inet) = entry.inet() else {
        return false;
    };
    let ready = match inet.proto {
        Proto::Tcp => inet.state == Some(State::Listen),
        Proto::Udp => inet.remote.is_none(),
    };
    ready && port.matches(inet.local.port(), Some(inet.proto))
}

fn timed_out(request: &Request) -> String {
    let after = humantime::format_duration(request.timeout);
    match request.free {
        true => format!("port {} is still held after {after}", request.port),
        false => format!("nothing listens on port {} after {after}", request.port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FakeSource;

    fn request(port: &str, free: bool) -> Request {
        Request {
            port: port.parse().unwrap(),
            timeout: Duration::ZERO,
            free,
            netns: NetnsScope::Own,
        }
    }

    #[test]
    fn a_listener_ends_the_wait_and_a_client_of_the_port_does_not() {
        let sample = FakeSource::sample().entries;
        assert!(done(&request("8080", false), &sample));
        assert!(done(&request("53/udp", false), &sample));
        // 51234 is only curl's end of a connection to 8080.
        assert!(!done(&request("51234", false), &sample));
        assert!(!done(&request("8080/udp", false), &sample));
    }

    #[test]
    fn free_means_no_holder_left() {
        let sample = FakeSource::sample().entries;
        assert!(!done(&request("8080", true), &sample));
        assert!(done(&request("9", true), &sample));
    }

    #[test]
    fn the_timeout_says_what_did_not_happen() {
        let mut source = FakeSource::sample();
        let (code, note) = run(&request("9", false), &mut source).unwrap();
        assert_eq!(code, ExitCode::NoMatch);
        assert_eq!(note.unwrap(), "nothing listens on port 9 after 0s");
    }
}
