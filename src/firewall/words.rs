//! The words both readers share: protocol names as numbers, hook names, and the addresses,
//! prefixes and port ranges as they are written in nft's JSON and in iptables-save.

use std::net::IpAddr;

use ipnet::IpNet;

use super::rules::{Hook, Value};

/// An IP protocol by the name nft and iptables print (`/etc/protocols`), or its number.
pub fn proto_number(name: &str) -> Option<u8> {
    let number = match name.to_ascii_lowercase().as_str() {
        "icmp" => 1,
        "igmp" => 2,
        "ipip" | "ipencap" => 4,
        "tcp" => 6,
        "egp" => 8,
        "udp" => 17,
        "ipv6" => 41,
        "ipv6-route" => 43,
        "ipv6-frag" => 44,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "icmpv6" | "ipv6-icmp" => 58,
        "ipv6-nonxt" => 59,
        "ipv6-opts" => 60,
        "ospf" => 89,
        "pim" => 103,
        "vrrp" => 112,
        "l2tp" => 115,
        "sctp" => 132,
        "udplite" => 136,
        "dccp" => 33,
        other => return other.parse().ok(),
    };
    Some(number)
}

pub fn hook(name: &str) -> Hook {
    match name.to_ascii_lowercase().as_str() {
        "prerouting" => Hook::Prerouting,
        "input" => Hook::Input,
        "forward" => Hook::Forward,
        "output" => Hook::Output,
        "postrouting" => Hook::Postrouting,
        "ingress" => Hook::Ingress,
        other => Hook::Other(other.to_string()),
    }
}

/// An address with an optional prefix (`10.0.0.0/8`, `::1`); a bare address is one host.
pub fn net(text: &str) -> Option<IpNet> {
    match text.split_once('/') {
        None => text.parse::<IpAddr>().ok().map(IpNet::from),
        Some((addr, len)) => prefix(addr.parse().ok()?, len),
    }
}

/// A prefix length, or a dotted mask as iptables-save prints a non-prefix-length one.
fn prefix(addr: IpAddr, len: &str) -> Option<IpNet> {
    let len = match len.parse::<u8>() {
        Ok(len) => len,
        Err(_) => mask_length(len.parse().ok()?)?,
    };
    IpNet::new(addr, len).ok().map(|net| net.trunc())
}

/// The length of a contiguous mask; a mask with holes is not a prefix.
fn mask_length(mask: IpAddr) -> Option<u8> {
    let bits: u128 = match mask {
        IpAddr::V4(v4) => u128::from(u32::from(v4)) << 96,
        IpAddr::V6(v6) => u128::from(v6),
    };
    let len = bits.leading_ones();
    (bits.checked_shl(len).unwrap_or(0) == 0).then_some(len as u8)
}

/// A port or a range, with `:` (iptables) or `-` (nft) between; an open end is 0 or 65535.
pub fn port_range(text: &str) -> Option<Value> {
    let Some((low, high)) = text.split_once([':', '-']) else {
        return text.parse().ok().map(Value::Port);
    };
    let low = if low.is_empty() { 0 } else { low.parse().ok()? };
    let high = if high.is_empty() {
        u16::MAX
    } else {
        high.parse().ok()?
    };
    Some(Value::PortRange(low, high))
}

/// An address range `a-b` (iprange).
pub fn addr_range(text: &str) -> Option<Value> {
    let (low, high) = text.split_once('-')?;
    Some(Value::AddrRange(low.parse().ok()?, high.parse().ok()?))
}

/// A TCP flag by name (`syn`, iptables' `SYN`), `all`/`none` as iptables spells them.
pub fn tcp_flag(name: &str) -> Option<u8> {
    Some(match name.to_ascii_lowercase().as_str() {
        "fin" => 0x01,
        "syn" => 0x02,
        "rst" => 0x04,
        "psh" => 0x08,
        "ack" => 0x10,
        "urg" => 0x20,
        "ecn" | "ece" => 0x40,
        "cwr" => 0x80,
        "all" => 0x3f,
        "none" => 0,
        _ => return None,
    })
}

/// The flags of the packet evaluated: a new connection's SYN.
pub const SYN_ALONE: u8 = 0x02;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_prefixes() {
        assert_eq!(net("10.1.2.3/8"), Some("10.0.0.0/8".parse().unwrap()));
        assert_eq!(
            net("10.0.0.0/255.255.0.0"),
            Some("10.0.0.0/16".parse().unwrap())
        );
        assert_eq!(net("10.0.0.0/255.0.255.0"), None);
        assert_eq!(net("::1"), Some("::1/128".parse().unwrap()));
        assert_eq!(net("10.0.0.0/33"), None);
    }

    #[test]
    fn ports() {
        assert_eq!(port_range("22"), Some(Value::Port(22)));
        assert_eq!(
            port_range("60000:61000"),
            Some(Value::PortRange(60000, 61000))
        );
        assert_eq!(port_range("1024:"), Some(Value::PortRange(1024, 65535)));
        assert_eq!(port_range("x"), None);
        assert_eq!(proto_number("ipv6-icmp"), Some(58));
        assert_eq!(proto_number("TCP"), Some(6));
    }
}
