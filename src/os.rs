//! The OS calls outside the socket source (which has its own layers under `source/`): signal
//! names and numbers, this process's parent, whether stdout's reader has gone, and the signals
//! that end the live view. Every item exists on every platform; where one has no such thing, a
//! stub says so or does nothing harmful.

use std::time::Duration;

/// "No such process": the process is gone, or is another one now.
#[cfg(unix)]
pub const ESRCH: i32 = nix::errno::Errno::ESRCH as i32;
#[cfg(not(unix))]
pub const ESRCH: i32 = 3;

/// "Operation not permitted": another user's process.
#[cfg(unix)]
pub const EPERM: i32 = nix::errno::Errno::EPERM as i32;
#[cfg(not(unix))]
pub const EPERM: i32 = 1;

/// Parses `--signal`: a name with or without `SIG` (`TERM`, `sigkill`) or a number, into the
/// number and the canonical name.
#[cfg(unix)]
pub fn parse_signal(text: &str) -> Result<(i32, String), String> {
    use nix::sys::signal::Signal;
    let upper = text.trim().to_ascii_uppercase();
    let signal = match upper.parse::<i32>() {
        Ok(number) => Signal::try_from(number).ok(),
        Err(_) => {
            let name = match upper.starts_with("SIG") {
                true => upper.clone(),
                false => format!("SIG{upper}"),
            };
            name.parse::<Signal>().ok()
        }
    };
    signal
        .map(|signal| (signal as i32, signal.as_str().to_owned()))
        .ok_or_else(|| {
            format!("unknown signal '{text}' (a name such as TERM, KILL, HUP, or a number)")
        })
}

#[cfg(not(unix))]
pub fn parse_signal(_text: &str) -> Result<(i32, String), String> {
    Err("ports kill is not supported on this platform yet".into())
}

/// The signal names `--signal` takes, without `SIG`, for completions: from the same list
/// `parse_signal` reads, so neither offers what the other refuses.
#[cfg(unix)]
pub fn signal_names() -> impl Iterator<Item = &'static str> {
    nix::sys::signal::Signal::iterator().map(|signal| signal.as_str().trim_start_matches("SIG"))
}

#[cfg(not(unix))]
pub fn signal_names() -> impl Iterator<Item = &'static str> {
    std::iter::empty()
}

/// The pid of the process that started `ports` (never signalled).
#[cfg(unix)]
pub fn parent_pid() -> u32 {
    std::os::unix::process::parent_id()
}

#[cfg(not(unix))]
pub fn parent_pid() -> u32 {
    0
}

/// Sleeps for `interval`; false as soon as stdout's reader has gone (a closed pipe polls as an
/// error; a file or a live pipe never becomes ready with no events asked for).
#[cfg(unix)]
pub fn wait_unless_reader_gone(interval: Duration) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let stdout = std::io::stdout();
    let mut fds = [PollFd::new(stdout.as_fd(), PollFlags::empty())];
    let timeout = PollTimeout::try_from(interval).unwrap_or(PollTimeout::MAX);
    let gone = PollFlags::POLLERR | PollFlags::POLLHUP;
    match poll(&mut fds, timeout) {
        Ok(ready) if ready > 0 => !fds[0].revents().is_some_and(|r| r.intersects(gone)),
        _ => true,
    }
}

#[cfg(not(unix))]
pub fn wait_unless_reader_gone(interval: Duration) -> bool {
    std::thread::sleep(interval);
    true
}

/// Calls `then` with the signal's number, from a thread of its own, when SIGTERM, SIGHUP,
/// SIGINT or SIGQUIT arrives. Elsewhere nothing: the view's own keys still end it.
#[cfg(unix)]
pub fn on_termination(then: impl FnOnce(i32) + Send + 'static) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT, SIGQUIT])?;
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            then(signal);
        }
    });
    Ok(())
}

#[cfg(not(unix))]
pub fn on_termination(_then: impl FnOnce(i32) + Send + 'static) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_by_name_or_number() {
        let term = nix::sys::signal::Signal::SIGTERM as i32;
        assert_eq!(parse_signal("TERM").map(|s| s.0), Ok(term));
        assert_eq!(parse_signal("sigkill").map(|s| s.1), Ok("SIGKILL".into()));
        assert_eq!(parse_signal("1").map(|s| s.1), Ok("SIGHUP".into()));
        let bogus = parse_signal("bogus").unwrap_err();
        assert!(bogus.contains("unknown signal 'bogus'"));
        assert!(parse_signal("99").is_err());
    }

    #[test]
    fn every_signal_name_offered_parses() {
        let names: Vec<_> = signal_names().collect();
        assert!(
            names.contains(&"TERM") && names.contains(&"KILL"),
            "{names:?}"
        );
        for name in names {
            assert_eq!(parse_signal(name).map(|s| s.1), Ok(format!("SIG{name}")));
        }
    }
}
