//! What a mistyped command line is told: clap's error in one line naming the bad value, its
//! tip when it has one, a hint for the flags of ss, netstat and lsof that `ports` spells
//! otherwise; and the one habit clap cannot take by itself (`--color` before a port).

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// The values `--color` takes; any other word after it is the next argument.
const COLOR_VALUES: [&str; 3] = ["auto", "always", "never"];

/// The command line with `--color` followed by something that is not a colour value written
/// `--color=always`, so `ports --color 8080` colours port 8080 while `--color always` (ripgrep's
/// and fd's form) keeps working. Nothing after `--` is touched.
pub fn normalize(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    for i in 0..end {
        let next_is_value = args
            .get(i + 1)
            .and_then(|a| a.to_str())
            .is_some_and(|next| COLOR_VALUES.iter().any(|v| v.eq_ignore_ascii_case(next)));
        if args[i] == "--color" && !next_is_value {
            args[i] = "--color=always".into();
        }
    }
    args
}

/// Options of ss, netstat and lsof that `ports` has no flag for: the way to get the same here.
const HABITS: [(&str, &str); 8] = [
    (
        "-e",
        "ss -e (extended): ports --json has each socket's uid and inode",
    ),
    ("-o", "ss -o (timers) is not shown by ports"),
    ("-m", "ss -m (socket memory) is not shown by ports"),
    (
        "-K",
        "ports does not kill sockets; ports kill PORT signals the processes holding it",
    ),
    (
        "-H",
        "ports always prints its header: ports --csv | tail -n +2 drops it",
    ),
    (
        "-T",
        "lsof -sTCP:LISTEN: use -l (listeners) or --state STATE",
    ),
    (
        "-f",
        "address family: use -4 or -6 (and -t, -u for the protocol)",
    ),
    (
        "-g",
        "netstat -g (multicast groups) is not shown by ports: ip maddr shows them",
    ),
];

/// What to print for a command line clap refused, a line each: a habit's hint, or clap's
/// message in one line, then clap's suggestion and where to read more when it made one for a
/// mistyped flag or subcommand (a mistyped value has its possible values on the first line). Each line is escaped by whoever prints it: it may quote what was typed.
pub fn explain(error: &clap::Error) -> Vec<String> {
    if let Some(hint) = habit_hint(error) {
        return vec![hint];
    }
    let text = error.render().to_string();
    let tips = text
        .lines()
        .map(str::trim)
        .filter(|line| {
            line.starts_with("tip:") && !line.contains("similar value") && line.contains("similar")
        })
        .map(|tip| format!("  {tip}"));
    let mut lines: Vec<String> = std::iter::once(one_line(&text)).chain(tips).collect();
    if lines.len() > 1 {
        lines.push("  try 'ports --help' for every option".into());
    }
    lines
}

/// A one-line hint for a flag that another tool has and `ports` does not.
fn habit_hint(error: &clap::Error) -> Option<String> {
    if error.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(arg)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    let (_, hint) = HABITS.iter().find(|(flag, _)| arg == flag)?;
    Some(format!("unexpected argument '{arg}': {hint}"))
}

/// clap's message spans several lines; the first names the bad value, and a
/// `[possible values: ...]` line, when there is one, says what to write instead. A first line
/// ending in `:` ("required arguments were not provided:") is followed by what it lists.
fn one_line(text: &str) -> String {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or(text);
    let first = first.strip_prefix("error: ").unwrap_or(first);
    if first.ends_with(':') {
        let listed: Vec<&str> = lines
            .map(str::trim)
            .take_while(|line| !line.is_empty())
            .collect();
        return format!("{first} {}", listed.join(" "));
    }
    match lines
        .map(str::trim)
        .find(|line| line.starts_with("[possible values"))
    {
        Some(values) => format!("{first} {values}"),
        None => first.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{ColorWhen, Opts};
    use clap::Parser;

    fn parsed(args: &[&str]) -> Result<Opts, clap::Error> {
        let args = std::iter::once("ports").chain(args.iter().copied());
        Opts::try_parse_from(normalize(args.map(OsString::from)))
    }

    #[test]
    fn color_before_a_port_means_always_and_the_port_stays_a_port() {
        let opts = parsed(&["--color", "8080"]).unwrap();
        assert_eq!(opts.list.output.color, ColorWhen::Always);
        assert_eq!(opts.list.targets.len(), 1, "{opts:?}");
        let opts = parsed(&["-l", "--color", "http"]).unwrap();
        assert_eq!(opts.list.output.color, ColorWhen::Always);
        assert_eq!(opts.list.targets.len(), 1, "{opts:?}");
        let opts = parsed(&["--color"]).unwrap();
        assert_eq!(opts.list.output.color, ColorWhen::Always);
    }

    #[test]
    fn color_with_a_value_keeps_both_spellings() {
        for args in [["--color", "never"], ["--color", "NEVER"]] {
            let opts = parsed(&args).unwrap();
            assert_eq!(opts.list.output.color, ColorWhen::Never);
            assert!(opts.list.targets.is_empty());
        }
        let opts = parsed(&["--color=auto", "22"]).unwrap();
        assert_eq!(opts.list.output.color, ColorWhen::Auto);
        let after_dashes = normalize(["ports", "--", "--color", "x"].map(OsString::from));
        assert_eq!(after_dashes[2], "--color");
    }

    #[test]
    fn a_typo_keeps_claps_tip_and_says_where_to_look() {
        let error = parsed(&["--lisen"]).unwrap_err();
        let lines = explain(&error);
        assert_eq!(lines[0], "unexpected argument '--lisen' found", "{lines:?}");
        assert!(
            lines[1].contains("similar argument exists: '--listen'"),
            "{lines:?}"
        );
        assert!(lines[2].contains("ports --help"), "{lines:?}");
    }

    #[test]
    fn other_tools_flags_get_a_hint_and_bad_values_one_line() {
        let error = parsed(&["-K"]).unwrap_err();
        assert!(explain(&error)[0].contains("ports kill PORT"));
        let error = parsed(&["--sort", "bogus"]).unwrap_err();
        assert_eq!(explain(&error).len(), 1, "{:?}", explain(&error));
    }
}
