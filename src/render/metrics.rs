//! `ports metrics`: the Prometheus text exposition format, as node_exporter's textfile
//! collector reads it (no timestamps; HELP and TYPE once per family; label values escaped; every
//! name and label set once), or OpenMetrics with `# EOF`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use crate::model::SocketEntry;
use crate::sanitize;

/// What one run of `ports metrics` saw.
pub struct Metrics<'a> {
    pub sockets: &'a [SocketEntry],
    pub hidden_owners: usize,
    pub duration: Duration,
    pub version: &'a str,
    pub openmetrics: bool,
}

/// The labels of one listener, in the order they are written.
type ListenerLabels = [(&'static str, String); 10];

pub fn render(metrics: &Metrics) -> String {
    let mut text = String::new();
    family(
        &mut text,
        "ports_listening",
        "A listening or bound socket: how many share these labels.",
    );
    for (labels, count) in listeners(metrics.sockets) {
        sample(&mut text, "ports_listening", &labels, count as f64);
    }
    family(
        &mut text,
        "ports_sockets",
        "Sockets by protocol, family and state.",
    );
    for (labels, count) in counts(metrics.sockets) {
        sample(&mut text, "ports_sockets", &labels, count as f64);
    }
    family(
        &mut text,
        "ports_hidden_owners",
        "Sockets whose owner this run could not see.",
    );
    sample(
        &mut text,
        "ports_hidden_owners",
        &[],
        metrics.hidden_owners as f64,
    );
    family(
        &mut text,
        "ports_scrape_duration_seconds",
        "Time taken to list the sockets and owners.",
    );
    sample(
        &mut text,
        "ports_scrape_duration_seconds",
        &[],
        metrics.duration.as_secs_f64(),
    );
    family(
        &mut text,
        "ports_build_info",
        "The ports version that wrote these metrics.",
    );
    sample(
        &mut text,
        "ports_build_info",
        &[("version", metrics.version.to_owned())],
        1.0,
    );
    if metrics.openmetrics {
        text.push_str("# EOF\n");
    }
    text
}

fn family(text: &mut String, name: &str, help: &str) {
    let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} gauge");
}

fn sample(text: &mut String, name: &str, labels: &[(&str, String)], value: f64) {
    text.push_str(name);
    if !labels.is_empty() {
        let pairs: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        let _ = write!(text, "{{{}}}", pairs.join(","));
    }
    let _ = writeln!(text, " {value}");
}

/// Escapes a label value as the exposition format asks (backslash, double quote; a newline is a
/// control character), and control characters (C0 and C1, which a terminal would obey: a name
/// such as `ESC]52;c;...` writes the reader's clipboard), invisible and bidi characters as the
/// text the table shows (`\x1b`, its backslash escaped in turn). A backslash in a name stays one
/// backslash to the reader, so `openvpn@a\x2db.service` joins node_exporter's unit labels.
/// Every label value comes through here.
pub fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            c if sanitize::is_unsafe(c) => {
                escaped.push_str(&sanitize::escaped(c).replace('\\', "\\\\"));
            }
            c => escaped.push(c),
        }
    }
    escaped
}

/// One series per distinct label set: sockets that would collide (one program's listeners on
/// `0.0.0.0` and `::` are different; SO_REUSEPORT twins are not) are counted together.
fn listeners(sockets: &[SocketEntry]) -> BTreeMap<ListenerLabels, usize> {
    let mut series = BTreeMap::new();
    for entry in sockets.iter().filter(|e| e.is_listening()) {
        let Some(inet) = entry.inet() else { continue };
        let owner = entry.processes.first();
        let text = |value: Option<&str>| value.unwrap_or_default().to_owned();
        let container = owner.and_then(|p| p.container.as_ref());
        let container = container.map(|c| c.short_name().into_owned());
        let exposure = entry.exposure().unwrap_or(crate::model::Exposure::All);
        let labels: ListenerLabels = [
            ("proto", inet.proto.name().into()),
            ("family", entry.family_name().into()),
            ("address", inet.local.ip().to_string()),
            ("port", inet.local.port().to_string()),
            ("exposure", exposure.name().into()),
            ("process", text(owner.map(|p| p.program()))),
            ("user", text(owner.and_then(|p| p.user.as_deref()))),
            ("unit", text(owner.and_then(|p| p.unit.as_deref()))),
            ("container", container.unwrap_or_default()),
            ("netns", entry.netns.label().into_owned()),
        ];
        *series.entry(labels).or_default() += 1;
    }
    series
}

fn counts(sockets: &[SocketEntry]) -> BTreeMap<[(&'static str, String); 3], usize> {
    let mut series = BTreeMap::new();
    for entry in sockets.iter().filter(|e| e.inet().is_some()) {
        let state = entry.state().map_or("", |state| state.name());
        let labels = [
            ("proto", entry.proto_name().to_owned()),
            ("family", entry.family_name().to_owned()),
            ("state", state.to_owned()),
        ];
        *series.entry(labels).or_default() += 1;
    }
    series
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FakeSource;

    fn rendered(sockets: &[SocketEntry]) -> String {
        render(&Metrics {
            sockets,
            hidden_owners: 1,
            duration: Duration::from_millis(42),
            version: "0.1.0",
            openmetrics: false,
        })
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), r#"a\"b\\c\\nd"#);
        // A unit's own escape reads back as it is, to join node_exporter's labels.
        assert_eq!(
            escape(r"openvpn@a\x2db.service"),
            r"openvpn@a\\x2db.service"
        );
        let mut entries = FakeSource::sample().entries;
        let mut owner = (*entries[2].processes[0]).clone();
        owner.program = "we\"ird\\na\nme".into();
        entries[2].processes = vec![std::sync::Arc::new(owner)];
        // A real newline reads back as the text `\n`, never as a line break.
        assert!(rendered(&entries).contains(r#"process="we\"ird\\na\\nme""#));
    }

    #[test]
    fn no_control_character_reaches_the_reader() {
        let mut entries = FakeSource::sample().entries;
        for (i, hostile) in ["\x1b]52;c;ZXZpbA==\x07", "\x1b[2J", "c1\u{9b}2J"]
            .iter()
            .enumerate()
        {
            let mut owner = (*entries[i].processes[0]).clone();
            owner.program = (*hostile).into();
            owner.unit = Some(format!("{hostile}.service"));
            entries[i].processes = vec![std::sync::Arc::new(owner)];
        }
        let text = rendered(&entries);
        assert!(
            text.contains(r#"process="\\x1b]52;c;ZXZpbA==\\x07""#),
            "{text}"
        );
        let control = text.chars().find(|&c| c != '\n' && c.is_control());
        assert_eq!(control, None, "{text}");
    }

    #[test]
    fn colliding_sockets_merge_and_every_series_is_unique() {
        let mut entries = FakeSource::sample().entries;
        entries.push(entries[0].clone()); // an SO_REUSEPORT twin of 0.0.0.0:8080
        let text = rendered(&entries);
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        let mut series: Vec<&str> = samples
            .iter()
            .map(|l| l.rsplit_once(' ').unwrap().0)
            .collect();
        let count = series.len();
        series.sort_unstable();
        series.dedup();
        assert_eq!(series.len(), count, "a series appears twice:\n{text}");
        assert!(
            text.contains(r#"address="0.0.0.0",port="8080""#) && text.contains("} 2\n"),
            "{text}"
        );
        assert_eq!(text.matches("# TYPE ports_listening gauge").count(), 1);
    }

    #[test]
    fn the_sample_machine_as_metrics() {
        insta::assert_snapshot!(rendered(&FakeSource::sample().entries));
    }
}
