//! A TCP socket's internals from its sock_diag record: the timer in the `inet_diag_msg`
//! header, `struct tcp_info` (`INET_DIAG_INFO`) and the socket's memory
//! (`INET_DIAG_SKMEMINFO`) in its attributes. Read by offset (linux/tcp.h), so an older
//! kernel's shorter struct gives `None` for the fields it lacks rather than an error.

use crate::model::{SocketMemory, TcpCounters, TcpInfo, Timer, TimerKind};

/// The `inet_diag_msg` header's length: the attributes follow it.
const HEADER_LEN: usize = 72;

const INET_DIAG_INFO: u16 = 2;
const INET_DIAG_SKMEMINFO: u16 = 7;

/// `tcpi_state` of a listener.
const TCP_LISTEN: u8 = 10;

/// The internals of the socket whose record (`inet_diag_msg` and its attributes) is `payload`.
/// `None` when the record says nothing about them (no timer, no attribute).
pub fn parse(payload: &[u8]) -> Option<Box<TcpInfo>> {
    let info = TcpInfo {
        timer: timer(payload),
        counters: attribute(payload, INET_DIAG_INFO).and_then(counters),
        memory: attribute(payload, INET_DIAG_SKMEMINFO).and_then(memory),
    };
    let empty = info.timer.is_none() && info.counters.is_none() && info.memory.is_none();
    (!empty).then(|| Box::new(info))
}

/// `idiag_timer`, `idiag_retrans` and `idiag_expires` of the header.
fn timer(payload: &[u8]) -> Option<Timer> {
    let kind = match *payload.get(2)? {
        1 => TimerKind::Retransmit,
        2 => TimerKind::Keepalive,
        3 => TimerKind::TimeWait,
        4 => TimerKind::Probe,
        _ => return None,
    };
    Some(Timer {
        kind,
        retransmits: *payload.get(3)?,
        expires_ms: u32_at(payload, 52)?,
    })
}

/// The data of the first attribute of type `kind` after the header.
fn attribute(payload: &[u8], kind: u16) -> Option<&[u8]> {
    let mut rest = payload.get(HEADER_LEN..)?;
    while rest.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
        let found = u16::from_ne_bytes([rest[2], rest[3]]) & 0x3fff;
        let data = rest.get(4..len)?;
        if found == kind {
            return Some(data);
        }
        rest = rest.get(len.next_multiple_of(4)..).unwrap_or_default();
    }
    None
}

/// `struct tcp_info`, by the offsets of linux/tcp.h. The first 104 bytes (up to
/// `tcpi_total_retrans`) are in every kernel sock_diag runs on; later fields are read where
/// the struct reaches them. A listener's are all zeros (it moves no data): `None`.
pub fn counters(info: &[u8]) -> Option<TcpCounters> {
    if *info.first()? == TCP_LISTEN {
        return None;
    }
    let u32_of = |offset| u32_at(info, offset);
    let u64_of = |offset| u64_at(info, offset);
    Some(TcpCounters {
        retransmits: *info.get(2)?,
        rto_us: u32_of(8)?,
        unacked_segments: u32_of(24)?,
        last_data_sent_ms: u32_of(44)?,
        last_data_recv_ms: u32_of(52)?,
        last_ack_recv_ms: u32_of(56)?,
        rtt_us: u32_of(68)?,
        rttvar_us: u32_of(72)?,
        cwnd_segments: u32_of(80)?,
        total_retrans: u32_of(100)?,
        bytes_acked: u64_of(120),
        bytes_received: u64_of(128),
        min_rtt_us: u32_of(148),
        delivery_rate_bytes_per_s: u64_of(160),
        busy_time_us: u64_of(168),
        rwnd_limited_us: u64_of(176),
        sndbuf_limited_us: u64_of(184),
        bytes_sent: u64_of(200),
        bytes_retrans: u64_of(208),
    })
}

/// `INET_DIAG_SKMEMINFO`: an array of u32 indexed by `SK_MEMINFO_*` (linux/sock_diag.h).
fn memory(meminfo: &[u8]) -> Option<SocketMemory> {
    Some(SocketMemory {
        rmem_alloc: u32_at(meminfo, 0)?,
        rcvbuf: u32_at(meminfo, 4)?,
        wmem_alloc: u32_at(meminfo, 8)?,
        sndbuf: u32_at(meminfo, 12)?,
        drops: u32_at(meminfo, 32).unwrap_or(0),
    })
}

fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    let field = bytes.get(offset..offset + 4)?;
    Some(u32::from_ne_bytes(field.try_into().ok()?))
}

fn u64_at(bytes: &[u8], offset: usize) -> Option<u64> {
    let field = bytes.get(offset..offset + 8)?;
    Some(u64::from_ne_bytes(field.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `struct tcp_info` of `len` bytes with recognisable values at known offsets.
    fn tcp_info(len: usize) -> Vec<u8> {
        let mut info = vec![0; len];
        let mut put = |offset: usize, bytes: &[u8]| {
            if offset + bytes.len() <= len {
                info[offset..offset + bytes.len()].copy_from_slice(bytes);
            }
        };
        put(2, &[3]); // tcpi_retransmits
        put(44, &5_000u32.to_ne_bytes()); // last_data_sent
        put(52, &700u32.to_ne_bytes()); // last_data_recv
        put(68, &1_234u32.to_ne_bytes()); // rtt
        put(72, &56u32.to_ne_bytes()); // rttvar
        put(80, &10u32.to_ne_bytes()); // snd_cwnd
        put(100, &7u32.to_ne_bytes()); // total_retrans
        put(120, &(8u64 << 20).to_ne_bytes()); // bytes_acked
        put(128, &4_096u64.to_ne_bytes()); // bytes_received
        put(148, &900u32.to_ne_bytes()); // min_rtt
        put(200, &(9u64 << 20).to_ne_bytes()); // bytes_sent
        info
    }

    #[test]
    fn a_current_kernels_struct_gives_every_counter() {
        let counters = counters(&tcp_info(248)).unwrap();
        assert_eq!((counters.rtt_us, counters.rttvar_us), (1_234, 56));
        assert_eq!((counters.retransmits, counters.total_retrans), (3, 7));
        assert_eq!(counters.cwnd_segments, 10);
        assert_eq!(counters.bytes_acked, Some(8 << 20));
        assert_eq!(counters.bytes_received, Some(4_096));
        assert_eq!(counters.bytes_sent, Some(9 << 20));
        assert_eq!(counters.min_rtt_us, Some(900));
        assert_eq!(counters.idle_ms(), 700);
    }

    #[test]
    fn an_older_kernels_shorter_struct_lacks_only_the_later_fields() {
        // Linux 4.1 to 4.5: up to tcpi_bytes_received and the segment counts.
        let counters = counters(&tcp_info(144)).unwrap();
        assert_eq!(counters.rtt_us, 1_234);
        assert_eq!(counters.bytes_received, Some(4_096));
        assert_eq!((counters.min_rtt_us, counters.bytes_sent), (None, None));
        // Before 4.1: no byte counters at all.
        let oldest = super::counters(&tcp_info(104)).unwrap();
        assert_eq!((oldest.total_retrans, oldest.bytes_acked), (7, None));
        assert_eq!(super::counters(&tcp_info(100)), None, "not a tcp_info");
        let mut listener = tcp_info(248);
        listener[0] = TCP_LISTEN;
        assert_eq!(super::counters(&listener), None, "a listener moves no data");
    }

    /// An `inet_diag_msg` with a keepalive timer, then `attributes` (type, data).
    fn record(attributes: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut record = vec![0; HEADER_LEN];
        record[2] = 2; // keepalive
        record[52..56].copy_from_slice(&7_000u32.to_ne_bytes());
        for (kind, data) in attributes {
            let len = u16::try_from(4 + data.len()).unwrap();
            record.extend_from_slice(&len.to_ne_bytes());
            record.extend_from_slice(&kind.to_ne_bytes());
            record.extend_from_slice(data);
            record.resize(record.len().next_multiple_of(4), 0);
        }
        record
    }

    #[test]
    fn the_attributes_are_found_whatever_their_order() {
        let meminfo: Vec<u8> = (1u32..=9).flat_map(u32::to_ne_bytes).collect();
        let odd = vec![1, 2, 3]; // INET_DIAG_SHUTDOWN-like, padded
        let record = record(&[(8, odd), (7, meminfo), (2, tcp_info(232))]);
        let info = parse(&record).unwrap();
        let timer = info.timer.unwrap();
        assert_eq!(
            (timer.kind, timer.expires_ms),
            (TimerKind::Keepalive, 7_000)
        );
        assert_eq!(info.counters.unwrap().rtt_us, 1_234);
        let memory = info.memory.unwrap();
        assert_eq!((memory.rmem_alloc, memory.sndbuf, memory.drops), (1, 4, 9));
    }

    #[test]
    fn a_record_without_attributes_or_timer_has_no_internals() {
        let mut bare = record(&[]);
        bare[2] = 0;
        assert_eq!(parse(&bare), None);
        let truncated = [record(&[]), vec![20, 0, 2, 0, 1]].concat();
        assert_eq!(parse(&truncated).unwrap().counters, None);
    }
}
