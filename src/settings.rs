//! Resolves the parsed command line and the terminal into the settings the app runs with.

use std::env;
use std::io::IsTerminal;
use std::path::PathBuf;

use crate::cli::{ColorWhen, FilterArgs, ListArgs};
use crate::filter::{Filter, PortSpec, UserMatch};
use crate::model::{Family, Proto};
use crate::render::{Format, RenderContext};
use crate::sort::SortKey;

/// What the terminal and environment say, read once at start-up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Terminal {
    pub stdout_is_tty: bool,
    /// Columns of the terminal stdout writes to, when it is one.
    pub width: Option<u16>,
    /// `NO_COLOR` is set and not empty (no-color.org).
    pub no_color: bool,
}

impl Terminal {
    pub fn detect() -> Terminal {
        let stdout_is_tty = std::io::stdout().is_terminal();
        let width = stdout_is_tty
            .then(|| terminal_size::terminal_size().map(|(width, _)| width.0))
            .flatten();
        let no_color = env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        Terminal {
            stdout_is_tty,
            width,
            no_color,
        }
    }
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
    /// A `--json` dump to show instead of this machine's sockets.
    pub replay: Option<PathBuf>,
}

impl Settings {
    pub fn new(opts: ListArgs, terminal: &Terminal) -> Settings {
        let output = opts.output;
        let color = match output.color {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => terminal.stdout_is_tty && !terminal.no_color,
        };
        let format = match (output.json, output.csv) {
            (true, _) => Format::Json,
            (_, true) => Format::Csv,
            _ => Format::Table,
        };
        Settings {
            filter: filter(opts.ports, opts.filter),
            sort: output.sort,
            reverse: output.reverse,
            format,
            render: RenderContext {
                color,
                width: terminal.width,
                wide: output.wide,
                ..RenderContext::default()
            },
            replay: opts.replay,
        }
    }
}

fn filter(ports: Vec<PortSpec>, args: FilterArgs) -> Filter {
    let mut protos = Vec::new();
    if args.tcp {
        protos.push(Proto::Tcp);
    }
    if args.udp {
        protos.push(Proto::Udp);
    }
    let mut families = Vec::new();
    if args.ipv4 {
        families.push(Family::Ipv4);
    }
    if args.ipv6 {
        families.push(Family::Ipv6);
    }
    Filter {
        ports,
        listening_only: args.listen,
        protos,
        families,
        states: args.state,
        pids: args.pid,
        process: args.process.map(|name| name.to_lowercase()),
        user: args.user.as_deref().map(UserMatch::parse),
        local: args.local,
        remote: args.remote,
    }
}
