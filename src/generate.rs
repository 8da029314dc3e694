//! Shell completions and the man page, generated from the one clap definition in `cli.rs`.

use std::io::{self, Write};

use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::roff::{Roff, bold, roman};

use crate::cli::Opts;

/// Writes the completion script for `shell`.
pub fn completions(shell: Shell, out: &mut dyn Write) -> io::Result<()> {
    let mut command = Opts::command();
    clap_complete::generate(shell, &mut command, "ports", out);
    Ok(())
}

/// Writes the man page, in roff: clap_mangen's sections, with the JSON fields and related
/// commands before VERSION, so an installed binary documents its output without the source.
pub fn man_page(out: &mut dyn Write) -> io::Result<()> {
    let man = clap_mangen::Man::new(Opts::command());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    man.render_subcommands_section(out)?;
    man.render_extra_section(out)?;
    extra_sections().to_writer(out)?;
    man.render_version_section(out)
}

/// The --json reference in brief; docs/json.md has every field's meaning.
const JSON_OUTPUT: [&str; 5] = [
    "--json prints one JSON array, one object per socket: proto, family, local_addr, local_port, \
     remote_addr, remote_port, state (as --state spells it), processes, owner_hidden, inode, \
     cookie, uid (the socket's creator), recv_queue, send_queue, exposure (loopback, all, \
     interface, address), interface, netns (inode, kind, name) and service. Unix sockets add \
     unix_type, path or abstract, peer_inode and peer. Fields are added, never renamed.",
    "Each entry of processes has pid, name, user, uid and cmdline; with -w, --json or a port query \
     also program, exe, ppid, parent, started (Unix seconds), unit, container (runtime, id, \
     name) and, for docker-proxy, forwards (to, container, listener).",
    "--json --envelope wraps the array for merging hosts: schema (ports/2), host, taken_at, \
     problems (what could not be seen, as data) and sockets.",
    "--watch --json prints one object per change: event (open, close, change), time, the \
     socket's fields and, for a change, was (state, pids). ports -s --json and ports kill \
     --json print one object each; ports metrics prints the Prometheus text format.",
    "CSV (--csv) has one row per socket and owner: proto, family, local_addr, local_port, \
     remote_addr, remote_port, state, pid, process, user, uid, owner_hidden, service.",
];

fn extra_sections() -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["JSON OUTPUT"]).control("nh", []);
    for paragraph in JSON_OUTPUT {
        roff.control("PP", []).text([roman(paragraph)]);
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([
        bold("ss"),
        roman("(8), "),
        bold("netstat"),
        roman("(8), "),
        bold("lsof"),
        roman("(8), "),
        bold("fuser"),
        roman("(1), "),
        bold("ip-netns"),
        roman("(8)"),
    ]);
    roff
}

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
    }

    #[test]
    fn the_man_page_is_roff_with_every_option() {
        let mut page = Vec::new();
        man_page(&mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.starts_with(".ie"), "{}", &page[..80]);
        assert!(page.contains(".TH ports 1") && page.contains("\\-\\-listen"));
        assert!(page.contains(".SH \"JSON OUTPUT\"") && page.contains("owner_hidden"));
    }
}
