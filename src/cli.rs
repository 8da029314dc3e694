//! The command line, as clap derive types only.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};
use clap_complete::Shell;

use crate::filter::{
    InetSpec, NetMatch, PortSpec, Target, parse_lsof_inet, parse_net, parse_state,
};
use crate::model::State;
use crate::sort::SortKey;

/// Who holds this port? Lists TCP and UDP sockets with the processes that own them.
///
/// With no argument, every TCP and UDP socket on this machine and its owners. A PORT asks who
/// holds it (a card when one program does); -l keeps what a server's bind() would collide with;
/// -x lists Unix sockets, -N every network namespace. Without root, it says which owners it
/// could not see.
#[derive(Debug, Parser)]
#[command(name = "ports", version, about, max_term_width = 100)]
#[command(args_conflicts_with_subcommands = true, args_override_self = true)]
#[command(after_help = format!("Exit status: {EXIT_STATUS}."))]
#[command(after_long_help = format!("{}\nExit status: {EXIT_STATUS}.\n{MANUAL}", examples_help()))]
pub struct Opts {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub list: ListArgs,
}

/// `--help` ends with these, and the man page shows them; `-h` stays short.
pub const EXAMPLES: [(&str, &str); 11] = [
    (
        "ports 8080",
        "who holds port 8080 (exit 1 when nobody does)",
    ),
    (
        "ports -l 8080 >/dev/null || echo free",
        "is 8080 free for a server to bind?",
    ),
    (
        "ports -l",
        "what is listening; --exposed: reachable from the network",
    ),
    (
        "ports -c nginx",
        "sockets of processes whose name contains nginx",
    ),
    (
        "ports -N -l 5432",
        "which container or namespace listens on 5432",
    ),
    (
        "ports --json -l | jq '.[] | [.local_port, .processes[0].name]'",
        "listeners and their programs, for scripts",
    ),
    (
        "ports --watch -l",
        "a live view of listeners; piped, one line per change",
    ),
    (
        "ports kill 8080",
        "free the port: SIGTERM its holders, after asking",
    ),
    (
        "server & ports wait 8080 --timeout 20 && run-tests",
        "go on as soon as the server listens (exit 1 at the timeout)",
    ),
    (
        "ports why 8080",
        "\"address already in use\"? who is in the way, which rule, and what would help",
    ),
    (
        "ports metrics -o /var/lib/prometheus/node-exporter/ports.prom",
        "for node_exporter's textfile collector",
    ),
];

/// The examples as `--help` prints them: a command, then what it does beside it or below it.
fn examples_help() -> String {
    let mut text = String::from("Examples:\n");
    for (command, what) in EXAMPLES {
        match command.len() {
            0..32 => text.push_str(&format!("  {command:<32} {what}\n")),
            _ => text.push_str(&format!("  {command}\n  {:<32} {what}\n", "")),
        }
    }
    text
}

pub const EXIT_STATUS: &str =
    "0 when a socket matched, 1 when none did, 2 on error, 130 when interrupted";

pub const WAIT_EXIT_STATUS: &str = "0 as soon as something listens on the port (with --free: \
     as soon as nothing holds it), 1 when the timeout passes first, 2 on bad input or when \
     sockets cannot be listed";

pub const KILL_EXIT_STATUS: &str = "0 when every process exited and the port is free (with \
    --dry-run: when there is a plan), 1 when nothing held it, 2 otherwise";

pub const WHY_EXIT_STATUS: &str = "0 when the bind would succeed, 1 when it would fail \
     (EADDRINUSE, EACCES or EADDRNOTAVAIL), 2 on bad input or when sockets cannot be listed";

const WHY_ABOUT: &str = "The sockets on the port come from the kernel (states, IPV6_V6ONLY, \
     TIME-WAIT's time left, sockets bound without listening), the limits from \
     net.ipv4.ip_unprivileged_port_start, ip_local_port_range and ip_local_reserved_ports. \
     Whether a socket in the way set SO_REUSEADDR or SO_REUSEPORT the kernel does not report: \
     only when the answer turns on that (or on whether a specific address is this \
     machine's), a probe bind with the same options (bound, and for \
     TCP without --reuseport listened on, then closed at once: no connection is made, the \
     port is never held) gives the kernel's own answer, and the output says so.";

const MANUAL: &str = "Manual, with the --json fields: man ports (or ports man | man -l -).";

/// What `ports` does besides listing sockets.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    Completions {
        #[arg(value_enum, ignore_case = true)]
        shell: Shell,
    },
    /// Print the man page (roff), e.g. `ports man | man -l -`
    Man {
        /// Write ports.1 and a page per subcommand (ports-kill.1, ...) into DIR instead
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// Free a port: signal the processes that hold it as a local port (never its clients)
    #[command(after_help = format!("Exit status: {KILL_EXIT_STATUS}."))]
    Kill(KillArgs),
    /// Wait until something listens on a port (or, with --free, until nothing holds it)
    #[command(after_help = format!("Exit status: {WAIT_EXIT_STATUS}."))]
    Wait(WaitArgs),
    /// Would a server's bind to [ADDR:]PORT succeed now? Who is in the way, which rule, what helps
    #[command(
        long_about = format!("Would a new server's bind to [ADDR:]PORT succeed now, as this user? \
            If not: the sockets in the way with their holders, the kernel rule that makes each \
            conflict, and what would make the bind succeed.\n\n{WHY_ABOUT}"),
        after_help = format!("Exit status: {WHY_EXIT_STATUS}.")
    )]
    Why(WhyArgs),
    /// Print listeners and socket counts as Prometheus metrics (node_exporter's textfile format)
    Metrics {
        /// Write to FILE atomically (a temporary file beside it, then a rename) instead of stdout
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// OpenMetrics text (ends with `# EOF`) for scrapers that want it
        #[arg(long)]
        openmetrics: bool,
    },
}

/// `ports wait PORT`: for scripts that start a server and then use it.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The port to wait for (8080, 53/udp, http)
    #[arg(value_name = "PORT", value_parser = str::parse::<PortSpec>)]
    pub port: PortSpec,

    /// Give up after this long: seconds, or a duration such as 500ms, 30s, 2m
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// Wait until nothing listens on or is bound to the port instead (after `ports kill`)
    #[arg(long)]
    pub free: bool,

    /// Look in this network namespace: a name from `ip netns`, a container, a pid or a path
    #[arg(long, value_name = "NAME|PID|PATH")]
    pub netns: Option<String>,
}

/// `ports why [ADDR:]PORT[/tcp|/udp]`: the bind a new server would make.
#[derive(Debug, Args)]
pub struct WhyArgs {
    /// The bind: 8080 (0.0.0.0 and [::], TCP), 127.0.0.1:8080, [::]:8080, 53/udp
    #[arg(value_name = "[ADDR:]PORT[/tcp|/udp]")]
    pub target: String,

    /// The new server sets SO_REUSEADDR (most servers do)
    #[arg(long)]
    pub reuseaddr: bool,

    /// The new server sets SO_REUSEPORT (to share the port with its other instances)
    #[arg(long)]
    pub reuseport: bool,

    /// Ask about this network namespace: a name from `ip netns`, a container, a pid or a path
    #[arg(short = 'N', long, value_name = "NAME|PID|PATH")]
    pub netns: Option<String>,

    /// The verdict, the errno and each reason as JSON
    #[arg(long)]
    pub json: bool,
}

/// `ports kill PORT...`: who to signal, with what, and how carefully.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Ports to free (8080, 53/udp, http); only processes holding them as a local port
    #[arg(value_name = "PORT", required = true, value_delimiter = ',', value_parser = str::parse::<PortSpec>)]
    pub ports: Vec<PortSpec>,

    /// Signal to send: a name (TERM, KILL, SIGHUP) or a number
    #[arg(short = 's', long, value_name = "SIGNAL", default_value = "TERM")]
    pub signal: String,

    /// Do not ask: needed when not on a terminal
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Show what would be signalled, and signal nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,

    /// Signal a container's port forwarder too (it breaks the container's port, not the service)
    #[arg(long)]
    pub force: bool,

    /// Print the plan and the result as JSON
    #[arg(long)]
    pub json: bool,

    /// TCP only
    #[arg(short, long)]
    pub tcp: bool,

    /// UDP only
    #[arg(short, long)]
    pub udp: bool,

    /// IPv4 only
    #[arg(short = '4', long = "ipv4")]
    pub ipv4: bool,

    /// IPv6 only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
}

/// The bare `ports [PORT...]` query: which sockets, and how to show them.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Ports to look for (8080, :8080, 8000-8100, 80,443, 53/udp, http), local or remote; or
    /// the start of a Unix socket's path or name (/run/, @dbus)
    #[arg(value_name = "PORT|PATH", value_delimiter = ',', value_parser = str::parse::<Target>)]
    pub targets: Vec<Target>,

    #[command(flatten)]
    pub filter: FilterArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Read sockets from a `ports --json` dump instead of this machine (bug reports, tests)
    #[arg(long, value_name = "FILE", hide = true)]
    pub replay: Option<PathBuf>,

    /// List with this backend: native (the default) or portable (netstat2, as on macOS and
    /// Windows; for comparing the two)
    #[arg(long, value_enum, value_name = "BACKEND", hide = true, default_value_t = BackendChoice::Native)]
    pub backend: BackendChoice,
}

/// `--backend`: which lister to use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    #[default]
    Native,
    Portable,
}

#[derive(Debug, Args)]
pub struct FilterArgs {
    /// TCP listeners and bound sockets, unconnected UDP sockets only
    #[arg(short, long)]
    pub listen: bool,

    /// Only listeners (and bound UDP sockets) reachable from the network, not loopback-only
    #[arg(long)]
    pub exposed: bool,

    /// Whether this host's packet filter lets a new connection from another host through, per
    /// listener (needs root; reads nft and iptables). Ports that a NAT rule forwards with no
    /// socket are listed too. With --exposed, keeps only what another host can (or might)
    /// reach. Not seen: filters in eBPF, XDP or tc, cloud security groups, upstream firewalls
    #[arg(long, conflicts_with = "watch")]
    pub firewall: bool,

    /// TCP sockets (both protocols when neither -t nor -u is given)
    #[arg(short, long)]
    pub tcp: bool,

    /// UDP sockets
    #[arg(short, long)]
    pub udp: bool,

    /// Unix domain sockets (only them, unless -t or -u is given too)
    #[arg(short = 'x', long)]
    pub unix: bool,

    /// Every network namespace on the machine (containers, ip netns), not only this one
    #[arg(short = 'N', long = "all-netns", conflicts_with = "netns")]
    pub all_netns: bool,

    /// Only this network namespace: a name under /run/netns, a container, a pid or a path
    #[arg(long, value_name = "NAME|PID|PATH")]
    pub netns: Option<String>,

    /// IPv4 sockets (both families when neither -4 nor -6 is given)
    #[arg(short = '4', long = "ipv4")]
    pub ipv4: bool,

    /// IPv6 sockets
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,

    /// TCP state: listen, established, time-wait, close-wait, syn-sent, ... (repeatable or comma list)
    #[arg(long, value_name = "STATE", value_delimiter = ',', value_parser = parse_state)]
    pub state: Vec<State>,

    /// Owned by this process id (repeatable or comma list)
    #[arg(long, value_name = "PID", value_delimiter = ',')]
    pub pid: Vec<u32>,

    /// Process name contains NAME (case-insensitive)
    #[arg(short = 'c', long, value_name = "NAME")]
    pub process: Option<String>,

    /// Owned by this user name or uid
    #[arg(long, value_name = "USER", value_hint = ValueHint::Username)]
    pub user: Option<String>,

    /// Local address or CIDR, with a device if scoped (127.0.0.1, ::1, 10.0.0.0/8, fe80::1%eth0)
    #[arg(long, value_name = "ADDR[/LEN]", value_parser = parse_net)]
    pub local: Option<NetMatch>,

    /// Remote address or CIDR
    #[arg(long, value_name = "ADDR[/LEN]", value_parser = parse_net)]
    pub remote: Option<NetMatch>,

    /// lsof's -i: [46][tcp|udp][:PORT], e.g. -i :80, -i tcp:443, -i 6udp
    #[arg(short = 'i', value_name = "SPEC", num_args = 0..=1, default_missing_value = "",
          value_parser = parse_lsof_inet, help_heading = "Habits from ss, netstat and lsof")]
    pub inet: Vec<InetSpec>,

    /// Accepted for ss/netstat habits: owners are always shown
    #[arg(
        short = 'p',
        long = "processes",
        help_heading = "Habits from ss, netstat and lsof"
    )]
    pub processes: bool,

    /// Every socket, listeners or not: as in ss and netstat, it wins over -l (-plant lists all)
    #[arg(
        short = 'a',
        long = "all",
        help_heading = "Habits from ss, netstat and lsof"
    )]
    pub all: bool,

    /// Accepted for lsof's -P (port numbers): ports shows numbers unless -w
    #[arg(short = 'P', help_heading = "Habits from ss, netstat and lsof")]
    pub port_numbers: bool,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Sort rows by this key; rate: the busiest first (with --tcp-info: bytes moved, in a watch
    /// the current rates)
    #[arg(long, value_enum, value_name = "KEY", default_value_t = SortKey::default(),
          ignore_case = true)]
    pub sort: SortKey,

    /// Reverse the sort order
    #[arg(short, long)]
    pub reverse: bool,

    /// Print a JSON array instead of the table (fields: man ports, JSON OUTPUT)
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,

    /// With --json: one object that says where and when it was made (host, schema, time, what
    /// could not be seen) around the sockets, for merging many hosts' output
    #[arg(long, requires = "json")]
    pub envelope: bool,

    /// Print CSV instead of the table, one row per socket and owner
    #[arg(long)]
    pub csv: bool,

    /// Show service names, full command lines and every owner; never truncate
    #[arg(short, long)]
    pub wide: bool,

    /// TCP internals per connection: RTT, retransmissions, bytes in and out, idle time,
    /// send/receive limits, the timer (in --json: tcp_info); with --watch, each connection's
    /// rates and each program's total. UDP and Unix sockets show -: the kernel counts no bytes
    /// for them
    #[arg(long)]
    pub tcp_info: bool,

    /// A summary instead of the list: counts by kind and state, listeners by exposure, top
    /// processes and peers (as ss -s; filters apply)
    #[arg(short = 's', long)]
    pub summary: bool,

    /// Numbers only: no service names (as ss -n)
    #[arg(short = 'n', long)]
    pub numeric: bool,

    /// Refresh every SECS seconds (default 1) and show what changed: a live table on a terminal,
    /// else one line per change (with --json, one JSON object per change)
    #[arg(long, value_name = "SECS", num_args = 0..=1, require_equals = true,
          default_missing_value = "1", value_parser = parse_interval,
          conflicts_with_all = ["csv", "summary", "envelope"])]
    pub watch: Option<Duration>,

    /// When to colour: auto honours NO_COLOR and TERM=dumb; --color alone means always
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorWhen::default(),
          num_args = 0..=1, default_missing_value = "always", ignore_case = true)]
    pub color: ColorWhen,
}

/// A wait's timeout: a number of seconds or a duration (`500ms`, `30s`, `2m`), up to a day.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let seconds = text
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0);
    let duration = match seconds {
        Some(seconds) => Duration::try_from_secs_f64(seconds).ok(),
        None => humantime::parse_duration(text.trim()).ok(),
    };
    duration
        .filter(|d| *d <= Duration::from_secs(86_400))
        .ok_or_else(|| format!("'{text}' is not a duration (30, 30s, 500ms, 2m; at most a day)"))
}

/// A watch interval: 0.1 s to one hour.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    if !(0.1..=3600.0).contains(&seconds) {
        return Err(format!("'{text}' is not between 0.1 and 3600 seconds"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// When to use colour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    #[default]
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Opts::command().debug_assert();
    }

    #[test]
    fn subcommands_sit_beside_the_bare_query() {
        let opts = Opts::try_parse_from(["ports", "completions", "bash"]).unwrap();
        assert!(matches!(
            opts.command,
            Some(Command::Completions { shell: Shell::Bash })
        ));
        let opts = Opts::try_parse_from(["ports", "8080", "-l"]).unwrap();
        assert!(opts.command.is_none());
        assert_eq!(opts.list.targets.len(), 1);
        assert!(Opts::try_parse_from(["ports", "-l", "man"]).is_err());
    }
}
