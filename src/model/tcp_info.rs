//! What the kernel keeps about one TCP connection (`tcp_info`, the socket's memory and its
//! timer), as raw counters with their units in their names. Asked for only with `--tcp-info`
//! and `-w`: the plain listing never carries it.

use serde::{Deserialize, Serialize};

/// A TCP socket's internals, as the sock_diag dump gives them. The counters are `None` where
/// the kernel gave none (a TIME-WAIT socket has only its timer) or is too old to have them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpInfo {
    #[serde(flatten)]
    pub counters: Option<TcpCounters>,
    /// The timer running, if any.
    #[serde(default)]
    pub timer: Option<Timer>,
    /// Socket memory (`INET_DIAG_SKMEMINFO`).
    #[serde(default)]
    pub memory: Option<SocketMemory>,
}

/// `struct tcp_info` (linux/tcp.h). Fields a kernel added later are `Option`: `None` when the
/// kernel's struct ends before them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpCounters {
    /// Smoothed round-trip time, microseconds.
    pub rtt_us: u32,
    /// Its mean deviation, microseconds.
    pub rttvar_us: u32,
    /// The lowest RTT seen, microseconds (Linux 4.6).
    pub min_rtt_us: Option<u32>,
    /// Retransmission timeout, microseconds.
    pub rto_us: u32,
    /// Congestion window, segments.
    pub cwnd_segments: u32,
    /// Retransmissions of the current segment, in a row (the retransmit timer's count).
    pub retransmits: u8,
    /// Segments retransmitted over the connection's life.
    pub total_retrans: u32,
    /// Segments sent and not yet acknowledged.
    pub unacked_segments: u32,
    /// Bytes the peer acknowledged: what was delivered out (Linux 4.1).
    pub bytes_acked: Option<u64>,
    /// Bytes received in order: what came in (Linux 4.1).
    pub bytes_received: Option<u64>,
    /// Bytes sent, retransmissions included (Linux 4.19).
    pub bytes_sent: Option<u64>,
    /// Bytes retransmitted (Linux 4.19).
    pub bytes_retrans: Option<u64>,
    /// The latest delivery rate, bytes per second (Linux 4.9).
    pub delivery_rate_bytes_per_s: Option<u64>,
    /// Milliseconds since data was last sent.
    pub last_data_sent_ms: u32,
    /// Milliseconds since data was last received.
    pub last_data_recv_ms: u32,
    /// Milliseconds since an acknowledgement was last received.
    pub last_ack_recv_ms: u32,
    /// Microseconds spent with data to send (Linux 4.10).
    pub busy_time_us: Option<u64>,
    /// Of those, microseconds the peer's receive window held sending back.
    pub rwnd_limited_us: Option<u64>,
    /// Of those, microseconds our send buffer held sending back.
    pub sndbuf_limited_us: Option<u64>,
}

/// The timer a TCP socket has running, and when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    pub kind: TimerKind,
    /// Milliseconds until it fires (0 when it is due).
    pub expires_ms: u32,
    /// Retransmissions so far (the retransmit timer), or probes (keepalive, zero window).
    pub retransmits: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimerKind {
    /// Data or a SYN is waiting for its acknowledgement.
    Retransmit,
    Keepalive,
    /// TIME-WAIT's own timer: when the socket goes.
    TimeWait,
    /// Zero-window probes: the peer's window is closed.
    Probe,
}

/// A socket's buffers (`INET_DIAG_SKMEMINFO`), bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketMemory {
    /// Received data held, and the receive buffer's size.
    pub rmem_alloc: u32,
    pub rcvbuf: u32,
    /// Sent data held, and the send buffer's size.
    pub wmem_alloc: u32,
    pub sndbuf: u32,
    /// Packets dropped for want of room in the buffer (0 where the kernel does not count them).
    pub drops: u32,
}

/// How far a connection was held back while it had data to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// By the peer's receive window (the reader is slow).
    ReceiveWindow,
    /// By our own send buffer (the writer's buffer is too small).
    SendBuffer,
}

/// Bytes per second each way over one watch interval, from the counters' deltas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Throughput {
    /// From `bytes_received`.
    pub recv_bytes_per_s: f64,
    /// From `bytes_acked`: what the peer confirmed.
    pub send_bytes_per_s: f64,
}

impl Throughput {
    pub fn total(self) -> f64 {
        self.recv_bytes_per_s + self.send_bytes_per_s
    }
}

/// A connection is called limited when the limit held it back for a tenth of its busy time.
pub const LIMITED_SHARE: f64 = 0.1;

impl TcpCounters {
    /// Milliseconds since data last moved either way.
    pub fn idle_ms(&self) -> u32 {
        self.last_data_sent_ms.min(self.last_data_recv_ms)
    }

    /// The limit that held the connection back most, with its share of the busy time, when
    /// that share is at least `LIMITED_SHARE`.
    pub fn limit(&self) -> Option<(Limit, f64)> {
        let busy = self.busy_time_us.filter(|&busy| busy > 0)? as f64;
        let rwnd = self.rwnd_limited_us.unwrap_or(0) as f64 / busy;
        let sndbuf = self.sndbuf_limited_us.unwrap_or(0) as f64 / busy;
        let (limit, share) = match rwnd >= sndbuf {
            true => (Limit::ReceiveWindow, rwnd),
            false => (Limit::SendBuffer, sndbuf),
        };
        (share >= LIMITED_SHARE).then_some((limit, share.min(1.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worse_limit_counts_from_a_tenth_of_the_busy_time() {
        let counters = |busy, rwnd, sndbuf| TcpCounters {
            busy_time_us: busy,
            rwnd_limited_us: Some(rwnd),
            sndbuf_limited_us: Some(sndbuf),
            ..TcpCounters::default()
        };
        assert_eq!(counters(Some(1000), 50, 20).limit(), None);
        assert_eq!(
            counters(Some(1000), 100, 300).limit(),
            Some((Limit::SendBuffer, 0.3))
        );
        assert_eq!(
            counters(Some(1000), 500, 300).limit(),
            Some((Limit::ReceiveWindow, 0.5))
        );
        assert_eq!(counters(None, 500, 0).limit(), None, "an old kernel");
        assert_eq!(counters(Some(0), 0, 0).limit(), None, "never busy");
    }

    #[test]
    fn idle_is_since_data_last_moved_either_way() {
        let counters = TcpCounters {
            last_data_sent_ms: 5_000,
            last_data_recv_ms: 200,
            ..TcpCounters::default()
        };
        assert_eq!(counters.idle_ms(), 200);
    }
}
