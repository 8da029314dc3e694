//! One parsed command line, run: the subcommand or the listing, against this machine (or a
//! replayed dump), writing the answer to `out`. What the binary does around it (parse, print
//! the notes and the error, exit) is main.rs; everything here is testable library code.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;

use crate::app;
use crate::cli::{Command, ListArgs, Opts, WaitArgs, WhyArgs};
use crate::exit::ExitCode;
use crate::generate;
use crate::kill::{self, Console, Live};
use crate::render::Format;
use crate::settings::{Settings, Terminal, kill_request};
use crate::source::{Backend, FakeSource, NetnsScope, SocketSource, SystemSource};
use crate::wait;
use crate::why;

/// How a run ended: its exit code, and the notes for stderr (what could not be seen, why
/// nothing matched).
pub struct Done {
    pub code: ExitCode,
    pub notes: Vec<String>,
}

impl Done {
    fn quietly(code: ExitCode) -> Done {
        Done {
            code,
            notes: Vec::new(),
        }
    }
}

/// The standard streams a run uses: stdout for the answer, stderr for what is said while it
/// runs (a watch's notes, kill's question), stdin for kill's answer.
pub struct Stdio<'a> {
    pub out: &'a mut dyn Write,
    pub say: &'a mut dyn FnMut(&str),
    pub prompt: &'a mut dyn Write,
    pub input: &'a mut dyn BufRead,
}

/// Runs `opts`. A closed stdout surfaces as a `BrokenPipe` error: the caller decides (main
/// takes it as the reader's choice, a quiet success).
pub fn run(opts: Opts, stdio: &mut Stdio) -> anyhow::Result<Done> {
    let done = match opts.command {
        Some(Command::Completions { shell }) => {
            generate::completions(shell, stdio.out).map(|()| Done::quietly(ExitCode::Matched))?
        }
        Some(Command::Man { out_dir: None }) => {
            generate::man_page(stdio.out).map(|()| Done::quietly(ExitCode::Matched))?
        }
        Some(Command::Man { out_dir: Some(dir) }) => {
            generate::write_man_pages(&dir).map(|()| Done::quietly(ExitCode::Matched))?
        }
        Some(Command::Kill(args)) => {
            let request =
                kill_request(args, io::stdin().is_terminal()).map_err(anyhow::Error::msg)?;
            kill_port(&request, stdio)?
        }
        Some(Command::Wait(args)) => wait_for(args)?,
        Some(Command::Why(args)) => why_bind(args, stdio.out)?,
        Some(Command::Metrics {
            output,
            openmetrics,
        }) => metrics(output, openmetrics, stdio.out)?,
        None => list(opts.list, stdio)?,
    };
    stdio.out.flush()?;
    Ok(done)
}

fn kill_port(request: &kill::Request, stdio: &mut Stdio) -> anyhow::Result<Done> {
    let mut console = Console {
        out: stdio.out,
        prompt: stdio.prompt,
        input: stdio.input,
    };
    let (code, notes) = kill::run(request, &mut SystemSource::default(), &Live, &mut console)?;
    Ok(Done { code, notes })
}

/// `ports wait PORT`: until the port is served (or free), or the timeout.
fn wait_for(args: WaitArgs) -> anyhow::Result<Done> {
    let request = wait::Request {
        port: args.port,
        timeout: args.timeout,
        free: args.free,
        netns: args.netns.map_or(NetnsScope::Own, NetnsScope::One),
    };
    let (code, note) = wait::run(&request, &mut SystemSource::default())?;
    Ok(Done {
        code,
        notes: note.into_iter().collect(),
    })
}

/// `ports why [ADDR:]PORT`: would the bind succeed, and if not, why.
fn why_bind(args: WhyArgs, out: &mut dyn Write) -> anyhow::Result<Done> {
    let request = why::Request {
        target: args.target.parse().map_err(anyhow::Error::msg)?,
        reuseaddr: args.reuseaddr,
        reuseport: args.reuseport,
        netns: args.netns.map_or(NetnsScope::Own, NetnsScope::One),
        json: args.json,
    };
    let (code, notes) = why::run(&request, &mut SystemSource::default(), out)?;
    Ok(Done { code, notes })
}

/// `ports metrics`: to stdout, or atomically to a file, so a collector never reads half of one.
fn metrics(
    output: Option<PathBuf>,
    openmetrics: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Done> {
    let (text, notes) = app::metrics(&mut SystemSource::default(), openmetrics)?;
    match output {
        Some(path) => crate::atomic::write(&path, text.as_bytes())
            .with_context(|| format!("cannot write '{}'", path.display()))?,
        None => out.write_all(text.as_bytes())?,
    }
    Ok(Done {
        code: ExitCode::Matched,
        notes,
    })
}

/// The bare `ports [PORT...]`: a listing (or a watch), then the notes and the exit code by match.
fn list(args: ListArgs, stdio: &mut Stdio) -> anyhow::Result<Done> {
    let terminal = Terminal::detect();
    let settings = Settings::new(args, &terminal).map_err(anyhow::Error::msg)?;
    let mut source = source_for(&settings)?;
    if let Some(interval) = settings.watch {
        let live = terminal.stdout_is_tty && settings.format == Format::Table;
        return watch(&settings, interval, source.as_mut(), live, stdio).map(Done::quietly);
    }
    let outcome = app::run(&settings, source.as_mut(), stdio.out)?;
    Ok(Done {
        code: outcome.exit_code(),
        notes: outcome.notes(&settings),
    })
}

/// This machine, remembering between refreshes for a watch; or a replayed dump.
fn source_for(settings: &Settings) -> anyhow::Result<Box<dyn SocketSource>> {
    Ok(match &settings.replay {
        Some(path) => Box::new(FakeSource::replay(path).map_err(anyhow::Error::msg)?),
        None if settings.watch.is_some() && settings.backend == Backend::Native => {
            Box::new(SystemSource::remembering())
        }
        None => Box::new(SystemSource::with_backend(settings.backend)),
    })
}

/// `--watch`: a live table on a terminal, else a stream of changes; runs until stopped.
fn watch(
    settings: &Settings,
    interval: std::time::Duration,
    source: &mut dyn SocketSource,
    live: bool,
    stdio: &mut Stdio,
) -> anyhow::Result<ExitCode> {
    if live {
        return crate::watch::view::run(settings, interval, source, typed_filters());
    }
    let wait = &crate::os::wait_unless_reader_gone;
    crate::watch::stream_changes(settings, interval, source, stdio.out, stdio.say, wait)?;
    Ok(ExitCode::Matched)
}

/// The command line as typed, but for `--watch`: the watch view's header shows it.
fn typed_filters() -> String {
    // Not `args()`, which panics on an argument that is not UTF-8 (a --replay path).
    let args = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned());
    let args = args.filter(|arg| !arg.starts_with("--watch"));
    let args: Vec<String> = args
        .map(|a| crate::sanitize::sanitize(&a).into_owned())
        .collect();
    args.join(" ")
}

/// `ports | head` closes the pipe early: that is the reader's choice, not an error.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
