use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use owo_colors::OwoColorize;

use ports::cli::Opts;
use ports::dispatch::{self, Stdio};
use ports::exit::ExitCode as Code;
use ports::sanitize::sanitize;
use ports::usage;

fn main() -> ExitCode {
    let opts = match Opts::try_parse_from(usage::normalize(std::env::args_os())) {
        Ok(opts) => opts,
        Err(error) => return refused(&error),
    };
    // Unlocked: the live view writes through its own handle, from two threads.
    let mut out = BufWriter::with_capacity(64 * 1024, io::stdout());
    let mut stdio = Stdio {
        out: &mut out,
        say: &mut |note| say(&format!("ports: {note}")),
        prompt: &mut io::stderr(),
        input: &mut io::stdin().lock(),
    };
    let result = dispatch::run(opts, &mut stdio);
    // What was written before an error comes before the error line.
    let _ = out.flush();
    match result {
        Ok(done) => {
            done.notes
                .iter()
                .for_each(|note| say(&format!("ports: {note}")));
            done.code.into()
        }
        Err(error) if dispatch::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => fail(&format!("{error:#}")),
    }
}

/// A command line clap refused: help and version are no errors; anything else is said in one
/// line (and clap's suggestion, when it has one), exit 2.
fn refused(error: &clap::Error) -> ExitCode {
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    let mut lines = usage::explain(error).into_iter();
    let code = fail(&lines.next().unwrap_or_default());
    lines.for_each(|line| say(&line));
    code
}

fn fail(message: &str) -> ExitCode {
    let color =
        io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let prefix = match color {
        true => "error:".red().bold().to_string(),
        false => "error:".into(),
    };
    let _ = writeln!(io::stderr().lock(), "{prefix} {}", sanitize(message));
    Code::Error.into()
}

/// Writes a line to stderr, escaped: notes carry names from the machine (namespaces, programs).
/// A closed stderr (`ports 2>&1 | head -1`) is no reason to fail, and `eprintln!` would panic
/// on it.
fn say(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{}", sanitize(line));
}
