//! What clap_complete's scripts cannot say, or say wrong, edited into them: the namespaces in
//! /run/netns for `--netns`; the users for `--user` in bash (zsh and fish get them from
//! `ValueHint::Username`, which clap_complete's bash script ignores); in fish, the values of an
//! option before any subcommand; in zsh, everything after a subcommand. The helpers use
//! builtins and globbing only: completing never runs a program.

use clap_complete::Shell;

/// `script` with the helpers added and the lines concerned edited; `subcommands` are the names
/// that may come first. Other shells' scripts are unchanged.
pub fn with_system_values(shell: Shell, script: &str, subcommands: &[&str]) -> String {
    match shell {
        Shell::Bash => format!("{BASH}{}", edit_lines(script, bash_line)),
        Shell::Zsh => zsh(script, subcommands),
        Shell::Fish => format!("{FISH}{}", edit_lines(script, fish_line)),
        _ => script.to_owned(),
    }
}

/// Each line of `script`, or what `edit` makes of it given the line before.
fn edit_lines(script: &str, mut edit: impl FnMut(&str, &str) -> Option<String>) -> String {
    let mut out = String::with_capacity(script.len());
    let mut previous = "";
    for line in script.lines() {
        out.push_str(&edit(previous, line).unwrap_or_else(|| line.to_owned()));
        out.push('\n');
        previous = line;
    }
    out
}

/// The line after `--netns)` or `--user)` in a `case "${prev}"`.
fn bash_line(previous: &str, line: &str) -> Option<String> {
    let call = match previous.trim() {
        "--netns)" => r#"_ports_netns "${cur}""#,
        "--user)" => r#"COMPREPLY=($(compgen -u -- "${cur}"))"#,
        _ => return None,
    };
    let indent = &line[..line.len() - line.trim_start().len()];
    line.trim_start()
        .starts_with("COMPREPLY=")
        .then(|| format!("{indent}{call}"))
}

/// `complete -c ports ... -l netns ... -r`, offering the names and no files; and the guard of
/// every option before a subcommand, which fails while an option waits for its value
/// (`ports --sort `) because argparse refuses the line: no subcommand can have come yet.
fn fish_line(previous: &str, line: &str) -> Option<String> {
    if line.starts_with("complete -c ports ") && line.contains(" -l netns ") {
        return Some(format!(r#"{line} -f -a "(__fish_ports_netns)""#));
    }
    let guard = previous
        .trim_start()
        .starts_with("argparse -s (__fish_ports_global_optspecs)");
    (guard && line.trim() == "or return").then(|| line.replace("or return", "or return 0"))
}

/// clap_complete's zsh script reads a subcommand's name as the bare query's PORT and its options
/// as the query's (clap#1147), so nothing after `ports kill` completed: after a subcommand, its
/// words go to it directly, as the script's `->ports` state does when it gets there. `#compdef`
/// stays the first line.
fn zsh(script: &str, subcommands: &[&str]) -> String {
    let (compdef, body) = script.split_at(script.find('\n').map_or(0, |end| end + 1));
    let (mut opened, mut open) = (false, false);
    let body = edit_lines(body, |_, line| {
        let text = line.trim();
        if text == r#"local context curcontext="$curcontext" state line"# && !opened {
            (opened, open) = (true, true);
            return Some(format!("{line}\n{}", zsh_subcommand_first(subcommands)));
        }
        if text == "&& ret=0" && std::mem::take(&mut open) {
            return Some(format!("{line}\n    fi"));
        }
        zsh_line(line)
    });
    format!("{compdef}{ZSH}{body}")
}

/// The start of an `if` around the query's `_arguments`: a subcommand first goes to `->ports`
/// with its words, as `*:::` would have narrowed them.
fn zsh_subcommand_first(subcommands: &[&str]) -> String {
    let names = subcommands.join("|");
    format!(
        "    if (( CURRENT > 2 )) && [[ $words[2] == ({names}) ]]; then
        state=ports
        line=($words[2])
        words=(\"${{(@)words[3,-1]}}\")
        (( CURRENT -= 2 ))
    else"
    )
}

/// `--netns`'s action; a list of PORTs that leaves the options after it options (`'*::` stops
/// reading them: `ports kill 8080 --signal `); and the subcommand read from the first word.
fn zsh_line(line: &str) -> Option<String> {
    if line.trim_start().starts_with("'--netns=[") {
        let (spec, action) = line.rsplit_once(':')?;
        let tail = &action[action.find('\'')?..];
        return Some(format!("{spec}:_ports_netns{tail}"));
    }
    if let Some(rest) = line.strip_prefix("'*::") {
        return Some(format!("'*:{rest}"));
    }
    line.contains("$line[2]")
        .then(|| line.replace("$line[2]", "$line[1]"))
}

const BASH: &str = r#"# Network namespaces by name (ip netns keeps them in /run/netns); a path completes as a file.
_ports_netns() {
    local path
    COMPREPLY=()
    if [[ $1 == */* ]]; then
        COMPREPLY=($(compgen -f -- "$1"))
        return 0
    fi
    for path in /run/netns/"$1"*; do
        if [[ -e $path ]]; then
            COMPREPLY+=("${path##*/}")
        fi
    done
}

"#;

const ZSH: &str = r#"
# Network namespaces by name (ip netns keeps them in /run/netns); a path completes as a file.
(( $+functions[_ports_netns] )) ||
_ports_netns() {
    if [[ $PREFIX == */* ]]; then
        _files
        return
    fi
    local -a expl names
    names=(/run/netns/*(N:t))
    _wanted netns expl 'network namespace' compadd -a names
}
"#;

const FISH: &str = r#"# Network namespaces by name (ip netns keeps them in /run/netns); a path completes as a file.
function __fish_ports_netns
    set -l token (commandline -ct)
    if string match -q -- '*/*' $token
        __fish_complete_path $token
        return
    end
    for path in /run/netns/*
        printf '%s\tnetwork namespace\n' (string replace -r '^.*/' '' -- $path)
    end
end

"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn script(shell: Shell) -> String {
        let mut out = Vec::new();
        crate::generate::completions(shell, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Lines only the edits write, once each (the `--netns` ones once per `--netns` option:
    /// the listing's, `wait`'s and `why`'s): a clap_complete that writes the lines they look for
    /// otherwise fails here, not in a user's shell.
    #[test]
    fn each_edit_is_made_once() {
        let wanted: [(Shell, &[&str]); 3] = [
            (
                Shell::Bash,
                &[
                    r#"_ports_netns "${cur}""#,
                    r#"COMPREPLY=($(compgen -u -- "${cur}"))"#,
                ],
            ),
            (
                Shell::Zsh,
                &[
                    ":NAME|PID|PATH:_ports_netns' \\",
                    "(completions|man|kill|wait|why|metrics|help) ]]; then",
                    "&& ret=0\n    fi",
                    "\n'*:ports -- ",
                ],
            ),
            (
                Shell::Fish,
                &[r#" -r -f -a "(__fish_ports_netns)""#, "or return 0"],
            ),
        ];
        for (shell, lines) in wanted {
            let script = script(shell);
            for line in lines {
                let times = if line.contains("netns") { 3 } else { 1 };
                assert_eq!(
                    script.matches(line).count(),
                    times,
                    "{shell}: {line}\n{script}"
                );
            }
        }
    }

    #[test]
    fn zsh_keeps_its_compdef_line_first() {
        let script = script(Shell::Zsh);
        assert_eq!(script.lines().next(), Some("#compdef ports"));
        assert!(script.contains("_ports_netns() {"));
    }

    #[test]
    fn other_shells_are_left_as_clap_writes_them() {
        for shell in [Shell::Elvish, Shell::PowerShell] {
            assert_eq!(
                with_system_values(shell, "as written\n", &["kill"]),
                "as written\n"
            );
        }
    }
}
