//! Resolves the parsed command line and the terminal into the settings the app runs with.

use std::env;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{BackendChoice, ColorWhen, FilterArgs, KillArgs, ListArgs};
use crate::filter::{Filter, Target, UserMatch};
use crate::kill;
use crate::model::{Family, Proto};
use crate::render::{Format, RenderContext};
use crate::sort::SortKey;
use crate::source::{Backend, NetnsScope, uid_of};

/// What the terminal and environment say, read once at start-up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Terminal {
    pub stdout_is_tty: bool,
    /// Columns to fit: `COLUMNS` when set (so `watch ports -l` fits a pipe), else the width of
    /// the terminal stdout writes to, when it is one.
    pub width: Option<u16>,
    /// `NO_COLOR` is set and not empty (no-color.org).
    pub no_color: bool,
    /// `TERM=dumb`: a terminal that shows escape codes as text.
    pub dumb: bool,
}

impl Terminal {
    pub fn detect() -> Terminal {
        let stdout_is_tty = std::io::stdout().is_terminal();
        let columns = env::var("COLUMNS")
            .ok()
            .and_then(|text| text.trim().parse().ok());
        // crossterm gives the columns even when the rows are unset (a pty made by `script`);
        // terminal_size would give nothing at all.
        let terminal_columns = || ratatui::crossterm::terminal::size().ok().map(|(c, _)| c);
        let width = columns
            .or_else(|| stdout_is_tty.then(terminal_columns).flatten())
            .filter(|&columns| columns > 0);
        Terminal {
            stdout_is_tty,
            width,
            no_color: env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty()),
            dumb: env::var_os("TERM").is_some_and(|term| term == "dumb"),
        }
    }
}

/// `ports kill`'s request, from its arguments and whether a question can be asked.
pub fn kill_request(args: KillArgs, stdin_is_tty: bool) -> Result<kill::Request, String> {
    let protos = [(args.tcp, Proto::Tcp), (args.udp, Proto::Udp)];
    let families = [(args.ipv4, Family::Ipv4), (args.ipv6, Family::Ipv6)];
    Ok(kill::Request {
        ports: args.ports,
        protos: protos
            .into_iter()
            .filter_map(|(on, p)| on.then_some(p))
            .collect(),
        families: families
            .into_iter()
            .filter_map(|(on, f)| on.then_some(f))
            .collect(),
        signal: kill::parse_signal(&args.signal)?,
        yes: args.yes,
        dry_run: args.dry_run,
        force: args.force,
        json: args.json,
        interactive: stdin_is_tty,
    })
}

/// Everything a run needs, decided once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Which sockets to show.
    pub filter: Filter,
    /// Row order.
    pub sort: SortKey,
    /// Reverse the row order.
    pub reverse: bool,
    /// Table, JSON or CSV.
    pub format: Format,
    /// Colour, width and columns of the table.
    pub render: RenderContext,
    /// Look up service names for ports (`-w` and JSON, unless `-n`).
    pub services: bool,
    /// Print the summary instead of the list.
    pub summary: bool,
    /// Wrap the JSON array in a document that names its host and schema.
    pub envelope: bool,
    /// Which network namespaces to list.
    pub netns: NetnsScope,
    /// Read where owners come from and run: -w, JSON, and port queries (the card).
    pub owner_context: bool,
    /// A `--json` dump to show instead of this machine's sockets.
    pub replay: Option<PathBuf>,
    /// Which lister to use on this machine.
    pub backend: Backend,
    /// Refresh at this interval and show what changed.
    pub watch: Option<Duration>,
    /// Read each namespace's ruleset and say what it does with a connection from another host.
    pub firewall: FirewallAsk,
    /// Ask the kernel for TCP internals (`--tcp-info`, `-w`): only then, so the plain listing
    /// does not pay for them.
    pub tcp_info: bool,
}

/// Whether to read the firewall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirewallAsk {
    Off,
    /// `--firewall`: read it, or say why it could not be.
    Asked,
    /// A port query: the card answers for one port, so it says what the firewall does when
    /// the ruleset is readable, and nothing when it is not.
    IfReadable,
}

impl Settings {
    /// Fails, with a line naming the value, on input that parsing alone cannot judge (a user
    /// name this machine does not know).
    pub fn new(opts: ListArgs, terminal: &Terminal) -> Result<Settings, String> {
        let output = opts.output;
        let color = match output.color {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => terminal.stdout_is_tty && !terminal.no_color && !terminal.dumb,
        };
        let format = match (output.json, output.csv) {
            (true, _) => Format::Json,
            (_, true) => Format::Csv,
            _ => Format::Table,
        };
        let replaying = opts.replay.is_some();
        let firewall = opts.filter.firewall;
        let listening = (opts.filter.listen && !opts.filter.all) || opts.filter.exposed;
        let netns = match (opts.filter.all_netns, &opts.filter.netns) {
            (true, _) => NetnsScope::All,
            (false, Some(selector)) => NetnsScope::One(selector.clone()),
            (false, None) => NetnsScope::Own,
        };
        let filter = filter(opts.targets, opts.filter, replaying)?;
        // A port query may become a card, which shows where owners run: read it then too.
        let port_query = !filter.ports.is_empty();
        let tcp_info = output.tcp_info || output.wide;
        let firewall_ask = match (firewall, port_query && !replaying && output.watch.is_none()) {
            (true, _) => FirewallAsk::Asked,
            (false, true) => FirewallAsk::IfReadable,
            (false, false) => FirewallAsk::Off,
        };
        Ok(Settings {
            filter,
            sort: output.sort,
            reverse: output.reverse,
            services: !output.numeric
                && !output.summary
                && (output.wide || format != Format::Table),
            summary: output.summary,
            envelope: output.envelope,
            netns,
            owner_context: output.wide || format == Format::Json || port_query,
            format,
            render: RenderContext {
                color,
                width: terminal.width,
                wide: output.wide,
                listening,
                firewall,
                tcp_info,
                ..RenderContext::default()
            },
            replay: opts.replay,
            backend: match opts.backend {
                BackendChoice::Native => Backend::Native,
                BackendChoice::Portable => Backend::Portable,
            },
            watch: output.watch,
            firewall: firewall_ask,
            tcp_info,
        })
    }
}

fn filter(targets: Vec<Target>, args: FilterArgs, replaying: bool) -> Result<Filter, String> {
    let (mut ports, mut paths) = (Vec::new(), Vec::new());
    for target in targets {
        match target {
            Target::Port(port) => ports.push(port),
            Target::Path(path) => paths.push(path),
        }
    }
    let mut protos = Vec::new();
    let mut families = Vec::new();
    let mut want = |on: bool, proto: Option<Proto>, family: Option<Family>| {
        if on {
            protos.extend(proto);
            families.extend(family);
        }
    };
    want(args.tcp, Some(Proto::Tcp), None);
    want(args.udp, Some(Proto::Udp), None);
    want(args.ipv4, None, Some(Family::Ipv4));
    want(args.ipv6, None, Some(Family::Ipv6));
    for inet in &args.inet {
        want(true, inet.proto, inet.family);
        ports.extend(inet.port);
    }
    protos.sort_unstable();
    protos.dedup();
    families.sort_unstable();
    families.dedup();
    Ok(Filter {
        ports,
        unix: args.unix || !paths.is_empty(),
        paths,
        // As in ss and netstat, -a (all) wins over -l: `ports -plant` lists everything.
        listening_only: args.listen && !args.all,
        protos,
        families,
        states: args.state,
        pids: args.pid,
        process: args.process.map(|name| name.to_lowercase()),
        user: args
            .user
            .map(|user| user_match(&user, replaying))
            .transpose()?,
        local: args.local,
        remote: args.remote,
        exposed: args.exposed,
    })
}

/// A uid as given; a name through NSS, so an unknown one is an error rather than no match. A
/// replayed dump comes from another machine: its names are matched as they are.
fn user_match(text: &str, replaying: bool) -> Result<UserMatch, String> {
    match UserMatch::parse(text) {
        UserMatch::Name(name) if !replaying => uid_of(&name)
            .map(UserMatch::Uid)
            .ok_or_else(|| format!("no such user '{name}' (give a user name or a uid)")),
        other => Ok(other),
    }
}
