//! Service names for ports, from /etc/services (`http` is 80/tcp), with a small built-in table
//! for machines without that file. Names go both ways: `ports http` finds port 80, and `-w`
//! shows `http` beside port 80.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::model::Proto;

/// Common services, for when /etc/services is missing (minimal containers). Same format.
const BUILT_IN: &str = "
ftp 21/tcp
ssh 22/tcp
telnet 23/tcp
smtp 25/tcp mail
domain 53/tcp
domain 53/udp
bootps 67/udp
bootpc 68/udp
tftp 69/udp
http 80/tcp www
pop3 110/tcp
ntp 123/udp
imap2 143/tcp imap
snmp 161/udp
ldap 389/tcp
https 443/tcp
https 443/udp
submissions 465/tcp ssmtp smtps
syslog 514/udp
submission 587/tcp
ldaps 636/tcp
domain-s 853/tcp
imaps 993/tcp
pop3s 995/tcp
openvpn 1194/udp
mysql 3306/tcp
postgresql 5432/tcp postgres
redis 6379/tcp
http-alt 8080/tcp webcache
";

/// Port <-> name tables.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Services {
    by_name: HashMap<String, u16>,
    by_port: HashMap<(u16, Proto), Arc<str>>,
}

impl Services {
    /// The machine's table: /etc/services, or the built-in one when it cannot be read. Read
    /// once per run.
    pub fn system() -> &'static Services {
        static SYSTEM: OnceLock<Services> = OnceLock::new();
        SYSTEM.get_or_init(|| match std::fs::read_to_string("/etc/services") {
            Ok(text) => Services::parse(&text),
            Err(_) => Services::built_in(),
        })
    }

    pub fn built_in() -> Services {
        Services::parse(BUILT_IN)
    }

    /// Parses the /etc/services format: `name port/proto [aliases...] [# comment]`. The first
    /// name given for a port wins, as getservbyport answers.
    pub fn parse(text: &str) -> Services {
        let mut services = Services::default();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or_default();
            let mut fields = line.split_whitespace();
            let (Some(name), Some(port)) = (fields.next(), fields.next()) else {
                continue;
            };
            let Some((port, proto)) = parse_port_proto(port) else {
                continue;
            };
            for alias in std::iter::once(name).chain(fields) {
                services.by_name.entry(alias.to_lowercase()).or_insert(port);
            }
            services.by_port.entry((port, proto)).or_insert(name.into());
        }
        services
    }

    /// The port a service name stands for, case-insensitively.
    pub fn port(&self, name: &str) -> Option<u16> {
        self.by_name.get(&name.to_lowercase()).copied()
    }

    /// The name of `port` for `proto`, if it has one.
    pub fn name(&self, port: u16, proto: Proto) -> Option<&Arc<str>> {
        self.by_port.get(&(port, proto))
    }
}

fn parse_port_proto(text: &str) -> Option<(u16, Proto)> {
    let (port, proto) = text.split_once('/')?;
    let proto = match proto {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        _ => return None,
    };
    Some((port.parse().ok()?, proto))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_map_to_ports_and_back() {
        let services = Services::parse(
            "# comment\nhttp\t\t80/tcp\t\twww\t# web\nhttps 443/tcp\nhttps 443/udp\n\
             bad 99999/tcp\nweird 7/sctp\n\nhttp-alt 8080/tcp webcache\n",
        );
        assert_eq!(services.port("http"), Some(80));
        assert_eq!(services.port("WWW"), Some(80));
        assert_eq!(services.port("webcache"), Some(8080));
        assert_eq!(services.port("bad"), None);
        assert_eq!(services.port("weird"), None);
        assert_eq!(services.name(443, Proto::Udp).map(|n| &**n), Some("https"));
        assert_eq!(services.name(80, Proto::Udp), None);
    }

    #[test]
    fn the_built_in_table_knows_the_common_ones() {
        let services = Services::built_in();
        for (name, port) in [
            ("ssh", 22),
            ("http", 80),
            ("https", 443),
            ("postgres", 5432),
        ] {
            assert_eq!(services.port(name), Some(port), "{name}");
        }
        assert_eq!(services.name(53, Proto::Udp).map(|n| &**n), Some("domain"));
    }
}
