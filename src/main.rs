use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use owo_colors::OwoColorize;

use ports::app;
use ports::cli::{Command, KillArgs, ListArgs, Opts};
use ports::exit::ExitCode as Code;
use ports::generate;
use ports::render::Format;
use ports::sanitize::sanitize;
use ports::settings::{Settings, Terminal};
use ports::source::{FakeSource, SocketSource, SystemSource};
use ports::usage;

fn main() -> ExitCode {
    let opts = match Opts::try_parse_from(usage::normalize(std::env::args_os())) {
        Ok(opts) => opts,
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) =>
        {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            let mut lines = usage::explain(&error).into_iter();
            let code = fail(&lines.next().unwrap_or_default());
            lines.for_each(|line| say(&line));
            return code;
        }
    };
    let mut out = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let written = match opts.command {
        Some(Command::Completions { shell }) => generate::completions(shell, &mut out),
        Some(Command::Man { out_dir: None }) => generate::man_page(&mut out),
        Some(Command::Man { out_dir: Some(dir) }) => generate::write_man_pages(&dir),
        Some(Command::Kill(args)) => return kill(args, out),
        Some(Command::Metrics {
            output,
            openmetrics,
        }) => return metrics(output, openmetrics, out),
        None => return list(opts.list, out),
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => fail(&error.to_string()),
    }
}

/// `ports metrics`: to stdout, or atomically to a file, so a collector never reads half of one.
fn metrics(output: Option<std::path::PathBuf>, openmetrics: bool, mut out: impl Write) -> ExitCode {
    let (text, notes) = match app::metrics(&mut SystemSource::default(), openmetrics) {
        Ok(done) => done,
        Err(error) => return fail(&format!("{error:#}")),
    };
    let written = match output {
        Some(path) => ports::atomic::write(&path, text.as_bytes())
            .map_err(|e| format!("cannot write '{}': {e}", path.display())),
        None => out
            .write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .or_else(|e| {
                if e.kind() == io::ErrorKind::BrokenPipe {
                    Ok(())
                } else {
                    Err(e.to_string())
                }
            }),
    };
    for note in notes {
        say(&format!("ports: {note}"));
    }
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

/// `ports kill PORT...`: plan, ask, signal, report; notes on stderr.
#[cfg(unix)]
fn kill(args: KillArgs, mut out: impl Write) -> ExitCode {
    use ports::kill::{self, Live, Request};
    use ports::model::{Family, Proto};
    let signal = match kill::parse_signal(&args.signal) {
        Ok(signal) => signal,
        Err(error) => return fail(&error),
    };
    let protos = [(args.tcp, Proto::Tcp), (args.udp, Proto::Udp)];
    let families = [(args.ipv4, Family::Ipv4), (args.ipv6, Family::Ipv6)];
    let request = Request {
        ports: args.ports,
        protos: protos
            .into_iter()
            .filter_map(|(on, p)| on.then_some(p))
            .collect(),
        families: families
            .into_iter()
            .filter_map(|(on, f)| on.then_some(f))
            .collect(),
        signal,
        yes: args.yes,
        dry_run: args.dry_run,
        force: args.force,
        json: args.json,
        interactive: io::stdin().is_terminal(),
    };
    let mut input = io::stdin().lock();
    let result = kill::run(
        &request,
        &mut SystemSource::default(),
        &Live,
        &mut out,
        &mut input,
    )
    .and_then(|done| out.flush().map(|()| done).map_err(Into::into));
    match result {
        Ok((code, notes)) => {
            for note in notes {
                say(&format!("ports: {note}"));
            }
            code.into()
        }
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => fail(&format!("{error:#}")),
    }
}

#[cfg(not(unix))]
fn kill(_args: KillArgs, _out: impl Write) -> ExitCode {
    fail("ports kill is not supported on this platform yet")
}

/// The bare `ports [PORT...]`: list, then notes on stderr, then the exit code by match.
fn list(args: ListArgs, mut out: impl Write) -> ExitCode {
    let settings = match Settings::new(args, &Terminal::detect()) {
        Ok(settings) => settings,
        Err(error) => return fail(&error),
    };
    let mut source: Box<dyn SocketSource> = match &settings.replay {
        Some(path) => match FakeSource::replay(path) {
            Ok(replay) => Box::new(replay),
            Err(error) => return fail(&error),
        },
        None if settings.watch.is_some() => Box::new(SystemSource::remembering()),
        None => Box::new(SystemSource::default()),
    };
    if let Some(interval) = settings.watch {
        return watch(&settings, interval, source.as_mut(), out);
    }
    let result = app::run(&settings, source.as_mut(), &mut out)
        .and_then(|outcome| out.flush().map(|()| outcome).map_err(Into::into));
    match result {
        Ok(outcome) => {
            for note in outcome.notes(&settings) {
                say(&format!("ports: {note}"));
            }
            outcome.exit_code().into()
        }
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => fail(&format!("{error:#}")),
    }
}

/// `--watch`: a live table on a terminal, else a stream of changes; runs until stopped.
fn watch(
    settings: &Settings,
    interval: std::time::Duration,
    source: &mut dyn SocketSource,
    mut out: impl Write,
) -> ExitCode {
    let result = if io::stdout().is_terminal() && settings.format == Format::Table {
        // The view writes through its own handle, from two threads: release our lock.
        drop(out);
        ports::watch::view::run(settings, interval, source, typed_filters())
    } else {
        let wait = &wait_unless_reader_gone;
        ports::watch::stream_changes(settings, interval, source, &mut out, &mut say, wait)
            .map(|()| Code::Matched)
    };
    match result {
        Ok(code) => code.into(),
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => fail(&format!("{error:#}")),
    }
}

/// Sleeps for `interval`; false as soon as stdout's reader has gone (a closed pipe polls as an
/// error; a file or a live pipe never becomes ready with no events asked for).
#[cfg(unix)]
fn wait_unless_reader_gone(interval: std::time::Duration) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let stdout = io::stdout();
    let mut fds = [PollFd::new(stdout.as_fd(), PollFlags::empty())];
    let timeout = PollTimeout::try_from(interval).unwrap_or(PollTimeout::MAX);
    let gone = PollFlags::POLLERR | PollFlags::POLLHUP;
    match poll(&mut fds, timeout) {
        Ok(ready) if ready > 0 => !fds[0].revents().is_some_and(|r| r.intersects(gone)),
        _ => true,
    }
}

#[cfg(not(unix))]
fn wait_unless_reader_gone(interval: std::time::Duration) -> bool {
    std::thread::sleep(interval);
    true
}

/// The command line as typed, but for `--watch`: the watch view's header shows it.
fn typed_filters() -> String {
    let args = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--watch"));
    let args: Vec<String> = args.map(|arg| sanitize(&arg).into_owned()).collect();
    args.join(" ")
}

fn fail(message: &str) -> ExitCode {
    let color =
        io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let prefix = if color {
        "error:".red().bold().to_string()
    } else {
        "error:".into()
    };
    let _ = writeln!(io::stderr().lock(), "{prefix} {}", sanitize(message));
    Code::Error.into()
}

/// `ports | head` closes the pipe early: that is the reader's choice, not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Writes a line to stderr, escaped: notes carry names from the machine (namespaces, programs).
/// A closed stderr (`ports 2>&1 | head -1`) is no reason to fail, and `eprintln!` would panic
/// on it.
fn say(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{}", sanitize(line));
}
