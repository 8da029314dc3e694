//! One process's identity and signals: its start time (field 22 of /proc/PID/stat, in clock
//! ticks since boot), which tells it from a later process given the same pid, and signals sent
//! through a pidfd, which pins the process so a reused pid is never signalled.

use std::os::fd::AsFd;

use rustix::fs::{CWD, Mode, OFlags, openat};
use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags, Signal, pidfd_open, pidfd_send_signal};

/// The start time of `pid`, `None` when it is gone or a zombie (it has exited; only its
/// parent has not reaped it).
pub fn start_ticks(pid: u32) -> Option<u64> {
    start_ticks_at(CWD, &format!("/proc/{pid}/stat"))
}

/// The start time read from `stat` relative to `dir`: an open /proc/PID/fd directory answers
/// for the process it was opened for (`../stat`), even if that pid is reused since.
pub fn start_ticks_at(dir: impl AsFd, stat: &str) -> Option<u64> {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC;
    let file = openat(dir, stat, flags, Mode::empty()).ok()?;
    let mut buf = [0u8; 1024];
    let len = rustix::io::read(&file, &mut buf).ok()?;
    parse_start(&buf[..len])
}

/// Field 22 of a stat line; the name in parentheses (field 2) may hold spaces, `)` and bytes
/// that are not UTF-8 (a process chooses its name), so only what follows it is decoded.
pub fn parse_start(stat: &[u8]) -> Option<u64> {
    let after_name = stat.iter().rposition(|&b| b == b')')? + 2;
    let rest = std::str::from_utf8(stat.get(after_name..)?).ok()?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// Sends `signal` to `pid` if it is still the process that started at `start`. The pidfd is
/// taken first and the start time checked after: the pidfd then refers to that very process,
/// and the signal cannot reach a newcomer. Kernels before 5.3 have no pidfds: there the check
/// and kill(2) leave a window of microseconds (so does a seccomp profile that refuses pidfds). The error is the errno; `ESRCH` when the
/// process is gone or is another one now.
pub fn signal_if_same(pid: u32, start: u64, signal: i32) -> Result<(), i32> {
    let signal = Signal::from_named_raw(signal).ok_or(Errno::INVAL.raw_os_error())?;
    let raw = i32::try_from(pid).ok().and_then(Pid::from_raw);
    let pid = raw.ok_or(Errno::SRCH.raw_os_error())?;
    // Without pidfds (before 5.3, or refused by a seccomp profile), kill(2) after the check.
    let pidfd = match pidfd_open(pid, PidfdFlags::empty()) {
        Ok(pidfd) => Some(pidfd),
        Err(Errno::NOSYS | Errno::PERM) => None,
        Err(errno) => return Err(errno.raw_os_error()),
    };
    if start_ticks(pid.as_raw_nonzero().get() as u32) != Some(start) {
        return Err(Errno::SRCH.raw_os_error());
    }
    let sent = match &pidfd {
        Some(pidfd) => pidfd_send_signal(pidfd, signal),
        None => rustix::process::kill_process(pid, signal),
    };
    sent.map_err(|errno| errno.raw_os_error())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_time_is_field_22_whatever_the_name() {
        let line = "42 (a) b (c)) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 \
                    123456 1000 10 0";
        assert_eq!(parse_start(line.as_bytes()), Some(123456));
        let zombie = line.replace(") S ", ") Z ");
        assert_eq!(parse_start(zombie.as_bytes()), None);
        let hostile = line.replacen("(a) b (c))", "(\x1b[31mev?il\x07)", 1);
        let mut bytes = hostile.into_bytes();
        let mark = bytes.iter().position(|&b| b == b'?').unwrap();
        bytes[mark] = 0xff; // not UTF-8
        assert_eq!(parse_start(&bytes), Some(123456));
    }

    #[test]
    fn our_own_start_time_is_read_both_ways() {
        let ours = start_ticks(std::process::id()).unwrap();
        let fd_dir = openat(CWD, "/proc/self/fd", OFlags::DIRECTORY, Mode::empty()).unwrap();
        assert_eq!(start_ticks_at(&fd_dir, "../stat"), Some(ours));
    }

    #[test]
    fn a_process_with_another_start_time_is_not_signalled() {
        let mut child = std::process::Command::new("/bin/sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let start = start_ticks(child.id()).unwrap();
        let sigterm = Signal::TERM.as_raw();
        assert_eq!(
            signal_if_same(child.id(), start + 1, sigterm),
            Err(libc::ESRCH)
        );
        assert!(child.try_wait().unwrap().is_none(), "still running");
        assert_eq!(signal_if_same(child.id(), start, sigterm), Ok(()));
        assert!(!child.wait().unwrap().success());
    }
}
