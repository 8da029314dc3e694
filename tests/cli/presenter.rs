//! The presenter and exit logic over a fake socket source: deterministic, no OS involved.

use clap::Parser;
use ports::app::{self, Outcome};
use ports::cli::Opts;
use ports::exit::ExitCode;
use ports::settings::{Settings, Terminal};
use ports::source::FakeSource;

const TERMINAL_100: Terminal = Terminal {
    stdout_is_tty: true,
    width: Some(100),
    no_color: false,
    dumb: false,
};
const PIPE: Terminal = Terminal {
    stdout_is_tty: false,
    width: None,
    no_color: false,
    dumb: false,
};

fn run_with(args: &[&str], terminal: &Terminal) -> (String, Outcome, Settings) {
    let opts = Opts::try_parse_from(std::iter::once("ports").chain(args.iter().copied())).unwrap();
    let settings = Settings::new(opts.list, terminal).unwrap();
    let mut out = Vec::new();
    let outcome = app::run(&settings, &mut FakeSource::sample(), &mut out).unwrap();
    (String::from_utf8(out).unwrap(), outcome, settings)
}

fn run(args: &[&str], terminal: &Terminal) -> String {
    run_with(args, terminal).0
}

#[test]
fn table_on_a_terminal_without_colour() {
    insta::assert_snapshot!(run(&["--color", "never"], &TERMINAL_100));
}

#[test]
fn table_with_colour() {
    insta::assert_snapshot!(run(&["--color", "always", "-l"], &TERMINAL_100));
}

#[test]
fn auto_colour_is_on_for_a_terminal_only() {
    assert!(run(&[], &TERMINAL_100).contains('\x1b'));
    assert!(!run(&[], &PIPE).contains('\x1b'));
    let no_color = Terminal {
        no_color: true,
        ..TERMINAL_100
    };
    assert!(!run(&[], &no_color).contains('\x1b'));
    assert!(run(&["--color", "always"], &PIPE).contains('\x1b'));
}

#[test]
fn hostile_names_are_escaped_even_in_colour() {
    for colour in ["always", "never"] {
        let out = run(&["--color", colour, "-w", "9999"], &PIPE);
        assert!(out.contains("\\x1b[31mevil"), "{out}");
        assert!(out.contains("\\u{202e}"), "{out}");
        assert!(
            !out.contains("\x1b[31mevil"),
            "raw escape reached the terminal: {out}"
        );
    }
}

#[test]
fn table_fits_a_60_column_terminal_keeping_every_port() {
    let narrow = Terminal {
        width: Some(60),
        ..TERMINAL_100
    };
    let out = run(&["--color", "never"], &narrow);
    insta::assert_snapshot!(out);
    for line in out.lines() {
        assert!(
            line.chars().count() <= 60,
            "{} columns: {line:?}",
            line.chars().count()
        );
    }
    for port in [":8080", ":5432", ":51234", ":22", ":60022", ":53", ":9999"] {
        assert!(out.contains(port), "lost {port}:\n{out}");
    }
}

#[test]
fn wide_shows_command_lines_and_never_truncates() {
    let narrow = Terminal {
        width: Some(60),
        ..TERMINAL_100
    };
    let out = run(&["--color", "never", "-w"], &narrow);
    insta::assert_snapshot!(out);
    assert!(out.contains("/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main"));
    assert!(!out.contains('…'));
}

#[test]
fn a_pipe_gets_the_full_width() {
    let out = run(&[], &PIPE);
    assert!(!out.contains('…'), "{out}");
    assert!(out.contains("[2001:db8::99]:60022"));
}

#[test]
fn json_has_the_documented_fields() {
    let out = run(&["--json"], &TERMINAL_100);
    insta::assert_snapshot!(out);
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    let sockets = value.as_array().unwrap();
    assert_eq!(sockets.len(), FakeSource::sample().entries.len());
    let udp = sockets.iter().find(|s| s["local_port"] == 9999).unwrap();
    assert_eq!(udp["state"], "established");
    assert_eq!(udp["remote_addr"], "::1");
    assert_eq!(udp["remote_port"], 53);
    assert_eq!(udp["family"], "ipv6");
    let listener = sockets.iter().find(|s| s["local_port"] == 8080).unwrap();
    assert_eq!(listener["remote_port"], serde_json::Value::Null);
    assert_eq!(listener["state"], "listen");
    let pids: Vec<_> = listener["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["pid"])
        .collect();
    assert_eq!(pids, [1200, 1201]);
    for field in ["pid", "name", "user", "uid"] {
        assert!(
            listener["processes"][0].get(field).is_some(),
            "missing {field}"
        );
    }
}

#[test]
fn json_of_nothing_is_an_empty_array() {
    let (out, outcome, _) = run_with(&["--json", "1"], &PIPE);
    assert_eq!(out.trim(), "[]");
    assert_eq!(outcome.exit_code(), ExitCode::NoMatch);
}

#[test]
fn csv_has_one_row_per_socket_and_owner_and_quotes_right() {
    let out = run(&["--csv"], &PIPE);
    insta::assert_snapshot!(out);
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let sample = FakeSource::sample().entries;
    let owner_rows: usize = sample.iter().map(|e| e.processes.len().max(1)).sum();
    assert_eq!(rows.len(), owner_rows);
    let shared: Vec<(&str, &str, &str)> = rows
        .iter()
        .filter(|r| &r[3] == "8080" && &r[2] == "0.0.0.0")
        .map(|r| (&r[7], &r[8], &r[9]))
        .collect();
    assert_eq!(
        shared,
        [("1200", "nginx", "root"), ("1201", "nginx", "www-data")]
    );
}

#[test]
fn sort_and_reverse_reach_the_output() {
    let out = run(&["--sort", "port", "-r", "-t"], &PIPE);
    let ports: Vec<u16> = out
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().nth(1).unwrap())
        .map(|local| local.rsplit(':').next().unwrap().parse().unwrap())
        .collect();
    assert!(ports.windows(2).all(|w| w[0] >= w[1]), "{ports:?}");
}

#[test]
fn a_matching_port_exits_zero_and_says_nothing() {
    let (out, outcome, settings) = run_with(&["8080"], &PIPE);
    assert_eq!(outcome.exit_code(), ExitCode::Matched);
    assert_eq!(out.lines().count(), 1 + 5);
    assert!(outcome.notes(&settings).is_empty());
}

#[test]
fn a_free_port_exits_one_with_a_message() {
    let (out, outcome, settings) = run_with(&["8081"], &PIPE);
    assert_eq!(out, "");
    assert_eq!(outcome.exit_code(), ExitCode::NoMatch);
    assert_eq!(outcome.notes(&settings), ["no socket uses port 8081"]);
    let (_, outcome, settings) = run_with(&["8081", "9000-9100"], &PIPE);
    assert_eq!(
        outcome.notes(&settings),
        ["no socket uses ports 8081 or 9000-9100"]
    );
    let (_, outcome, settings) = run_with(&["8080", "-u"], &PIPE);
    assert_eq!(
        outcome.notes(&settings),
        ["port 8080 is in use, but not by a socket matching -u"]
    );
    let (_, outcome, settings) = run_with(&["8081", "-l", "-t"], &PIPE);
    assert_eq!(outcome.notes(&settings), ["no socket uses port 8081"]);
    let (_, outcome, settings) = run_with(&["-c", "nothing-like-this"], &PIPE);
    assert_eq!(outcome.notes(&settings)[0], "no socket matches");
}

#[test]
fn hidden_owners_are_counted_once() {
    let (out, outcome, settings) = run_with(&[], &PIPE);
    assert_eq!(outcome.hidden_owners, 1);
    let notes = outcome.notes(&settings);
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].starts_with("1 socket's owner is hidden"),
        "{notes:?}"
    );
    assert!(notes[0].contains("sudo"));
    let hidden_row = out.lines().find(|l| l.contains(":60022")).unwrap();
    let owner_fields: Vec<_> = hidden_row.split_whitespace().skip(4).collect();
    assert_eq!(owner_fields, ["-", "-", "-"], "{hidden_row:?}");
    // Filtered away, the hidden socket is not counted.
    let (_, outcome, _) = run_with(&["-u"], &PIPE);
    assert_eq!(outcome.hidden_owners, 0);
    // An owner filter that matches nothing still says owners were hidden: one may be the one.
    let (_, outcome, settings) = run_with(&["-c", "sshd"], &PIPE);
    assert_eq!(outcome.exit_code(), ExitCode::NoMatch);
    let notes = outcome.notes(&settings);
    assert_eq!(notes[0], "no socket matches");
    let unshown = "1 socket not shown has an owner that could not be seen, which may be what \
                   was asked for: ";
    assert!(notes[1].starts_with(unshown), "{notes:?}");
    // A complete answer about a process says nothing of sockets it did not print as if they
    // were among its rows.
    let (out, outcome, settings) = run_with(&["-c", "nginx"], &PIPE);
    assert_eq!(outcome.exit_code(), ExitCode::Matched);
    assert!(!out.contains(":60022"), "{out}");
    let notes = outcome.notes(&settings);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].starts_with(unshown), "{notes:?}");
}

#[test]
fn cli_definition_is_consistent() {
    use clap::CommandFactory;
    Opts::command().debug_assert();
}

#[test]
fn summary_as_tables_and_json() {
    insta::assert_snapshot!(run(&["-s"], &PIPE));
    let json: serde_json::Value = serde_json::from_str(&run(&["-s", "--json"], &PIPE)).unwrap();
    assert_eq!(json["total"], FakeSource::sample().entries.len());
    assert_eq!(json["listeners_by_exposure"]["all"], 2);
    assert_eq!(json["hidden_owners"], 1);
    let filtered: serde_json::Value =
        serde_json::from_str(&run(&["-s", "--json", "8080"], &PIPE)).unwrap();
    assert_eq!(filtered["total"], 5, "filters apply: {filtered}");
}
