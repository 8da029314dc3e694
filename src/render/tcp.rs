//! The TCP internals' cells (`--tcp-info`, `-w`, the watch's rates): human units for people,
//! the raw counters stay in JSON. UDP, Unix sockets and sockets the kernel said nothing about
//! show `-`: sock_diag has no per-socket byte counters for them, and none are made up.
//! A leaf of `render/`: columns.rs maps its columns to these figures; this imports no other
//! render module.

use std::fmt::Write;

use owo_colors::{OwoColorize, Style};

use crate::model::{Limit, SocketEntry, TcpCounters, Throughput, Timer, TimerKind};

/// What stands in for a figure the kernel did not give.
const NONE: &str = "-";

/// Idle for this long (milliseconds) is shown in yellow: a connection kept open for nothing,
/// or a peer that went away without a word.
pub const LONG_IDLE_MS: u32 = 10 * 60 * 1000;

/// One TCP figure: a column of its own in the table and the live view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    Rtt,
    Retrans,
    BytesIn,
    BytesOut,
    Idle,
    Limit,
    Timer,
    RateIn,
    RateOut,
}

/// Appends the cell of `figure` for `entry`; `rate` is the watch's.
pub fn write_text(figure: Figure, entry: &SocketEntry, rate: Option<Throughput>, buf: &mut String) {
    let info = entry.tcp_info.as_deref();
    let counters = info.and_then(|info| info.counters.as_ref());
    let written = match figure {
        Figure::RateIn => rate.map(|r| push_rate(r.recv_bytes_per_s, buf)),
        Figure::RateOut => rate.map(|r| push_rate(r.send_bytes_per_s, buf)),
        Figure::Timer => info.and_then(|info| info.timer).map(|t| push_timer(t, buf)),
        _ => counters.and_then(|c| counter_text(figure, c, buf)),
    };
    if written.is_none() {
        buf.push_str(NONE);
    }
}

/// The cells drawn from `tcp_info` itself; `None` where the kernel gave no such field.
fn counter_text(figure: Figure, counters: &TcpCounters, buf: &mut String) -> Option<()> {
    match figure {
        Figure::Rtt => {
            push_micros(counters.rtt_us, buf);
            buf.push('±');
            push_micros(counters.rttvar_us, buf);
        }
        Figure::Retrans => push(buf, counters.total_retrans),
        Figure::BytesIn => push_bytes(counters.bytes_received?, buf),
        Figure::BytesOut => push_bytes(counters.bytes_acked?, buf),
        Figure::Idle => push_millis(counters.idle_ms(), buf),
        Figure::Limit => {
            let (limit, share) = counters.limit()?;
            let name = match limit {
                Limit::ReceiveWindow => "rwnd",
                Limit::SendBuffer => "sndbuf",
            };
            push(buf, format_args!("{name} {:.0}%", share * 100.0));
        }
        _ => return None,
    }
    Some(())
}

/// Appends already-cut cell text, coloured where it helps the eye: retransmitting (red while
/// it retransmits, yellow once it has), limited, idle for long.
pub fn paint(figure: Figure, entry: &SocketEntry, text: &str, buf: &mut String) {
    let info = entry.tcp_info.as_deref();
    let Some(counters) = info.and_then(|info| info.counters.as_ref()) else {
        buf.push_str(text);
        return;
    };
    let style = match figure {
        Figure::Retrans if counters.retransmits > 0 => Style::new().red().bold(),
        Figure::Retrans if counters.total_retrans > 0 => Style::new().yellow(),
        Figure::Limit if counters.limit().is_some() => Style::new().yellow(),
        Figure::Idle if counters.idle_ms() >= LONG_IDLE_MS => Style::new().yellow(),
        _ => {
            buf.push_str(text);
            return;
        }
    };
    push(buf, text.style(style));
}

/// `retransmit 200ms (3)`, `keepalive 1m58s`, `time-wait 59s`, `probe 1s`.
fn push_timer(timer: Timer, buf: &mut String) {
    let name = match timer.kind {
        TimerKind::Retransmit => "retransmit",
        TimerKind::Keepalive => "keepalive",
        TimerKind::TimeWait => "time-wait",
        TimerKind::Probe => "probe",
    };
    push(buf, format_args!("{name} "));
    push_millis(timer.expires_ms, buf);
    if timer.retransmits > 0 {
        push(buf, format_args!(" ({})", timer.retransmits));
    }
}

/// `0.05ms`, `1.23ms`, `12.3ms`, `250ms`: three significant figures or whole milliseconds.
pub fn push_micros(micros: u32, buf: &mut String) {
    let ms = f64::from(micros) / 1000.0;
    match micros {
        0..10_000 => push(buf, format_args!("{ms:.2}ms")),
        10_000..100_000 => push(buf, format_args!("{ms:.1}ms")),
        _ => push(buf, format_args!("{ms:.0}ms")),
    }
}

/// `350ms` under a second; then the two largest units, as ages are: `4m10s`, `3d4h`.
pub fn push_millis(millis: u32, buf: &mut String) {
    if millis < 1000 {
        push(buf, format_args!("{millis}ms"));
        return;
    }
    let seconds = u64::from(millis / 1000);
    let parts = [
        (seconds / 86_400, 'd'),
        (seconds / 3_600 % 24, 'h'),
        (seconds / 60 % 60, 'm'),
        (seconds % 60, 's'),
    ];
    let first = parts.iter().position(|&(n, _)| n > 0).unwrap_or(3);
    for &(n, unit) in &parts[first..(first + 2).min(parts.len())] {
        push(buf, format_args!("{n}{unit}"));
    }
}

/// `512B`, `1.5KiB`, `8.0MiB`, `12GiB`: binary units, three significant figures at most.
pub fn push_bytes(bytes: u64, buf: &mut String) {
    push_scaled(bytes as f64, buf);
}

/// A rate in bytes per second: `2.0MiB/s`, `0B/s`.
pub fn push_rate(bytes_per_s: f64, buf: &mut String) {
    push_scaled(bytes_per_s.max(0.0), buf);
    buf.push_str("/s");
}

fn push_scaled(mut value: f64, buf: &mut String) {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    match (unit, value) {
        (0, _) => push(buf, format_args!("{value:.0}B")),
        (_, 100.0..) => push(buf, format_args!("{value:.0}{}", UNITS[unit])),
        _ => push(buf, format_args!("{value:.1}{}", UNITS[unit])),
    }
}

fn push(buf: &mut String, value: impl std::fmt::Display) {
    let _ = write!(buf, "{value}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TcpInfo;
    use crate::source::FakeSource;

    fn text(f: impl Fn(&mut String)) -> String {
        let mut buf = String::new();
        f(&mut buf);
        buf
    }

    #[test]
    fn units_are_human_and_short() {
        assert_eq!(text(|b| push_bytes(512, b)), "512B");
        assert_eq!(text(|b| push_bytes(1536, b)), "1.5KiB");
        assert_eq!(text(|b| push_bytes(8 << 20, b)), "8.0MiB");
        assert_eq!(text(|b| push_bytes(300 << 30, b)), "300GiB");
        assert_eq!(text(|b| push_rate(2.0 * 1024.0 * 1024.0, b)), "2.0MiB/s");
        assert_eq!(text(|b| push_rate(-5.0, b)), "0B/s", "never negative");
        assert_eq!(text(|b| push_micros(56, b)), "0.06ms");
        assert_eq!(text(|b| push_micros(12_345, b)), "12.3ms");
        assert_eq!(text(|b| push_millis(350, b)), "350ms");
        assert_eq!(text(|b| push_millis(250_000, b)), "4m10s");
    }

    /// The sample's established connection, with the internals `counters` and `timer`.
    fn connection(counters: Option<TcpCounters>, timer: Option<Timer>) -> SocketEntry {
        let mut entry = FakeSource::sample().entries.remove(4);
        entry.tcp_info = Some(Box::new(TcpInfo {
            counters,
            timer,
            memory: None,
        }));
        entry
    }

    fn cells(entry: &SocketEntry, rate: Option<Throughput>) -> Vec<String> {
        let columns = [
            Figure::Rtt,
            Figure::Retrans,
            Figure::BytesIn,
            Figure::BytesOut,
            Figure::Idle,
            Figure::Limit,
            Figure::Timer,
            Figure::RateIn,
        ];
        let cell = |&figure: &Figure| text(|b| write_text(figure, entry, rate, b));
        columns.iter().map(cell).collect()
    }

    #[test]
    fn a_connection_shows_its_counters_and_a_udp_socket_dashes() {
        let counters = TcpCounters {
            rtt_us: 1_234,
            rttvar_us: 56,
            total_retrans: 7,
            bytes_received: Some(8 << 20),
            bytes_acked: Some(1536),
            last_data_sent_ms: 90_000,
            last_data_recv_ms: 61_000,
            busy_time_us: Some(1_000),
            rwnd_limited_us: Some(400),
            ..TcpCounters::default()
        };
        let timer = Timer {
            kind: TimerKind::Keepalive,
            expires_ms: 118_000,
            retransmits: 0,
        };
        let rate = Throughput {
            recv_bytes_per_s: 2_097_152.0,
            send_bytes_per_s: 0.0,
        };
        let entry = connection(Some(counters), Some(timer));
        let want = [
            "1.23ms±0.06ms",
            "7",
            "8.0MiB",
            "1.5KiB",
            "1m1s",
            "rwnd 40%",
            "keepalive 1m58s",
            "2.0MiB/s",
        ];
        assert_eq!(cells(&entry, Some(rate)), want);
        let udp = FakeSource::sample().entries.remove(7);
        assert_eq!(udp.proto(), Some(crate::model::Proto::Udp));
        assert!(cells(&udp, None).iter().all(|cell| cell == NONE));
    }

    #[test]
    fn a_time_wait_socket_has_its_timer_and_nothing_else() {
        let timer = Timer {
            kind: TimerKind::TimeWait,
            expires_ms: 59_000,
            retransmits: 0,
        };
        let cells = cells(&connection(None, Some(timer)), None);
        assert_eq!(cells[6], "time-wait 59s");
        assert!(cells[..6].iter().all(|cell| cell == NONE), "{cells:?}");
    }

    #[test]
    fn retransmitting_limited_and_long_idle_connections_are_coloured() {
        let painted = |counters: TcpCounters, figure: Figure| {
            let entry = connection(Some(counters), None);
            text(|b| paint(figure, &entry, "x", b))
        };
        let quiet = TcpCounters::default();
        assert_eq!(painted(quiet.clone(), Figure::Retrans), "x");
        let retransmitted = TcpCounters {
            total_retrans: 2,
            ..quiet.clone()
        };
        assert_ne!(painted(retransmitted, Figure::Retrans), "x");
        let idle = TcpCounters {
            last_data_sent_ms: LONG_IDLE_MS,
            last_data_recv_ms: LONG_IDLE_MS,
            ..quiet.clone()
        };
        assert_ne!(painted(idle, Figure::Idle), "x");
        assert_eq!(painted(quiet, Figure::Idle), "x");
    }
}
