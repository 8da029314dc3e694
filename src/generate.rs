//! Shell completions and the man pages, generated from the one clap definition in `cli.rs`.

use std::io::{self, Write};
use std::path::Path;

use clap::builder::PossibleValuesParser;
use clap::{Arg, CommandFactory};
use clap_complete::Shell;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};

use crate::cli::{EXAMPLES, EXIT_STATUS, KILL_EXIT_STATUS, Opts, WHY_EXIT_STATUS};
use crate::model::State;

mod shell;

/// Writes the completion script for `shell`.
pub fn completions(shell: Shell, out: &mut dyn Write) -> io::Result<()> {
    let mut command = without_hidden(Opts::command());
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "ports", &mut script);
    let script = String::from_utf8(script)
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
    let subcommands: Vec<&str> = command
        .get_subcommands()
        .map(|sub| sub.get_name())
        .collect();
    out.write_all(shell::with_system_values(shell, &script, &subcommands).as_bytes())
}

/// The command line as completions offer it. clap_complete's generators ignore `hide`
/// (clap-rs/clap#1335) and clap cannot drop an argument, so the command is rebuilt from its
/// visible arguments and its subcommands: the same definition, filtered, never a second copy;
/// each argument `offering` the values it takes.
fn without_hidden(command: clap::Command) -> clap::Command {
    let visible = command.get_arguments().filter(|arg| !arg.is_hide_set());
    let subcommands = command
        .get_subcommands()
        .map(|sub| sub.clone().mut_args(offering));
    clap::Command::new("ports")
        .version(env!("CARGO_PKG_VERSION"))
        .args(visible.cloned().map(offering).collect::<Vec<_>>())
        .subcommands(subcommands.collect::<Vec<_>>())
}

/// `arg` with the values completions offer, for the two that parse free text: a possible-values
/// parser would replace theirs (comma lists and aliases; numbers and `SIG`) and their messages,
/// so only the completions' copy gets one.
fn offering(arg: Arg) -> Arg {
    match arg.get_id().as_str() {
        "state" => arg.value_parser(PossibleValuesParser::new(State::ALL.map(State::name))),
        #[cfg(unix)]
        "signal" => arg.value_parser(PossibleValuesParser::new(crate::kill::signal_names())),
        _ => arg,
    }
}

/// Writes ports(1), in roff.
pub fn man_page(out: &mut dyn Write) -> io::Result<()> {
    main_page(&built(), out)
}

/// Writes ports.1 and ports-SUBCOMMAND.1 for each subcommand into `dir` (made if missing), as
/// packages install them.
pub fn write_man_pages(dir: &Path) -> io::Result<()> {
    let root = built();
    std::fs::create_dir_all(dir).map_err(|error| naming(dir, error))?;
    write_page(&dir.join("ports.1"), |out| main_page(&root, out))?;
    for sub in root.get_subcommands() {
        let name = sub.get_display_name().unwrap_or(sub.get_name());
        write_page(&dir.join(format!("{name}.1")), |out| sub_page(sub, out))?;
    }
    Ok(())
}

/// Each page replaces the file atomically: a symlink planted at `DIR/ports.1` is replaced, never
/// written through (`atomic::write`).
fn write_page(path: &Path, page: impl Fn(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let mut text = Vec::new();
    page(&mut text)
        .and_then(|()| crate::atomic::write(path, &text))
        .map_err(|error| naming(path, error))
}

/// The error with the path it concerns, so the one line says what could not be written.
fn naming(path: &Path, error: io::Error) -> io::Error {
    io::Error::new(
        error.kind(),
        format!("cannot write '{}': {error}", path.display()),
    )
}

/// The command as the pages describe it: built, so subcommands know their full names
/// (`ports kill`, page ports-kill), and without clap's `help` subcommand.
fn built() -> clap::Command {
    let mut command = Opts::command().disable_help_subcommand(true);
    command.build();
    command
}

/// clap_mangen's sections, with ours (examples, exit status, JSON fields) before VERSION, so an
/// installed ports documents its output without the source.
fn main_page(root: &clap::Command, out: &mut dyn Write) -> io::Result<()> {
    let man = Man::new(root.clone());
    head(&man, out)?;
    man.render_subcommands_section(out)?;
    let mut roff = Roff::new();
    examples(&mut roff);
    section(&mut roff, "EXIT STATUS", &[EXIT_STATUS]);
    section(&mut roff, "JSON OUTPUT", &JSON_OUTPUT);
    see_also(
        &mut roff,
        &[
            ("ss", "8"),
            ("netstat", "8"),
            ("lsof", "8"),
            ("ip-netns", "8"),
        ],
    );
    roff.to_writer(out)?;
    man.render_version_section(out)
}

fn sub_page(sub: &clap::Command, out: &mut dyn Write) -> io::Result<()> {
    let man = Man::new(sub.clone()).source(concat!("ports ", env!("CARGO_PKG_VERSION")));
    head(&man, out)?;
    let mut roff = Roff::new();
    match sub.get_name() {
        "kill" => section(&mut roff, "EXIT STATUS", &[KILL_EXIT_STATUS]),
        "why" => section(&mut roff, "EXIT STATUS", &[WHY_EXIT_STATUS]),
        _ => {}
    }
    see_also(&mut roff, &[("ports", "1")]);
    roff.to_writer(out)
}

/// The sections every page starts with: title, name, synopsis, description, options.
fn head(man: &Man, out: &mut dyn Write) -> io::Result<()> {
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)
}

fn examples(roff: &mut Roff) {
    roff.control("SH", ["EXAMPLES"]);
    for (command, what) in EXAMPLES {
        roff.control("TP", [])
            .text([bold(command)])
            .text([roman(what)]);
    }
}

/// A section of filled paragraphs, not hyphenated: they are full of field and flag names.
fn section(roff: &mut Roff, title: &str, paragraphs: &[&str]) {
    roff.control("SH", [title]).control("nh", []);
    for paragraph in paragraphs {
        roff.control("PP", []).text([roman(*paragraph)]);
    }
    roff.control("hy", []);
}

fn see_also(roff: &mut Roff, pages: &[(&str, &str)]) {
    roff.control("SH", ["SEE ALSO"]);
    let mut inlines = Vec::new();
    for (index, (name, section)) in pages.iter().enumerate() {
        let separator = if index + 1 < pages.len() { ", " } else { "" };
        inlines.push(bold(*name));
        inlines.push(roman(format!("({section}){separator}")));
    }
    roff.text(inlines);
}

/// The --json reference in brief; docs/json.md has every field's meaning.
const JSON_OUTPUT: [&str; 5] = [
    "--json prints one JSON array, one object per socket: proto, family, local_addr, local_port, \
     remote_addr, remote_port, state (as --state spells it), processes, owner_hidden, inode, \
     cookie, uid (the socket's creator), recv_queue, send_queue, exposure (loopback, all, \
     interface, address), interface, netns (inode, kind, name), service and, where no holder \
     is visible, user (the name of uid); kernel (kind, device, detail) for a port the \
     kernel holds (a VXLAN device's); v6only for IPv6 sockets; expires_ms while a timer runs; \
     with --firewall, firewall (verdict: open, dropped, rejected, some_sources, forwarded, \
     unknown, local_only, not_read; by, pass, to, target, assumed, construct) and, on a NAT \
     row, claim (stale). Unix sockets add \
     unix_type, path or abstract, peer_inode and peer. With --tcp-info or -w, TCP sockets \
     add tcp_info: raw counters with their units in their names (rtt_us, rttvar_us, \
     total_retrans, bytes_received, bytes_acked, last_data_sent_ms, last_data_recv_ms, \
     rwnd_limited_us, sndbuf_limited_us, ...), timer (kind, expires_ms) and memory; UDP and \
     Unix sockets have none. Fields are added, never renamed.",
    "Each entry of processes has pid, name, user, uid and cmdline; with -w, --json or a port \
     query also program, exe, ppid, parent, started (Unix seconds), unit, container (runtime, \
     id, name) and, for docker-proxy, forwards (to, container, listener).",
    "--json --envelope wraps the array for merging hosts: schema (ports/2), host, taken_at, \
     problems (what could not be seen, as data) and sockets.",
    "--watch --json prints one object per change: event (open, close, change), time, the \
     socket's fields and, for a change, was (state, pids); with --tcp-info also rate events \
     (a connection's recv_bytes_per_s and send_bytes_per_s since the refresh before) and \
     program events (the same, summed per program). ports -s --json, ports kill --json and \
     ports why --json (verdict, errno, binds with their reasons) print one object each; \
     ports metrics prints the Prometheus text format.",
    "CSV (--csv) has one row per socket and owner: proto, family, local_addr, local_port, \
     remote_addr, remote_port, state, pid, process, user, uid, owner_hidden, service, netns, \
     unix_name, firewall.",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_name_the_flags() {
        let mut bash = Vec::new();
        completions(Shell::Bash, &mut bash).unwrap();
        let bash = String::from_utf8(bash).unwrap();
        assert!(
            bash.contains("--listen") && bash.contains("completions"),
            "{bash}"
        );
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::PowerShell,
            Shell::Elvish,
        ] {
            let mut script = Vec::new();
            completions(shell, &mut script).unwrap();
            let script = String::from_utf8(script).unwrap();
            assert!(
                !script.contains("replay"),
                "{shell}: a hidden flag is offered"
            );
            assert!(
                script.contains("dry-run") && script.contains("openmetrics"),
                "{shell}"
            );
        }
    }

    #[test]
    fn the_man_page_is_roff_with_every_option_examples_and_the_json_fields() {
        let mut page = Vec::new();
        man_page(&mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.starts_with(".ie"), "{}", &page[..80]);
        assert!(page.contains(".TH ports 1") && page.contains("\\-\\-listen"));
        assert!(page.contains(".SH EXAMPLES") && page.contains(".SH \"EXIT STATUS\""));
        assert!(page.contains(".SH \"JSON OUTPUT\"") && page.contains("owner_hidden"));
        assert!(page.contains("ports\\-kill(1)") && !page.contains("ports\\-help"));
    }

    #[test]
    fn each_subcommand_has_a_page_with_its_options() {
        let dir = std::env::temp_dir().join(format!("ports-man-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write_man_pages(&dir).unwrap();
        let kill = std::fs::read_to_string(dir.join("ports-kill.1")).unwrap();
        let metrics = std::fs::read_to_string(dir.join("ports-metrics.1")).unwrap();
        let why = std::fs::read_to_string(dir.join("ports-why.1")).unwrap();
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(kill.contains(".TH ports-kill 1  \"ports 0.") && kill.contains("\\-\\-dry\\-run"));
        assert!(kill.contains("EXIT STATUS") && metrics.contains("\\-\\-openmetrics"));
        let expected = ["completions", "kill", "man", "metrics", "wait", "why"];
        let expected = expected.map(|s| format!("ports-{s}.1"));
        assert_eq!(names[..6], expected, "{names:?}");
        assert_eq!(names[6], "ports.1");
        assert!(why.contains("\\-\\-reuseport") && why.contains("EXIT STATUS"));
        assert!(why.contains("probe bind"));
    }
}
