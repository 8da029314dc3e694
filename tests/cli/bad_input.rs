//! The command-line contract: bad values fail with one line naming them, and exit 2.

use crate::support::{explain, ports};

#[test]
fn each_bad_value_is_named_on_one_line_with_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["70000"], "port '70000' is out of range 1-65535"),
        (&["0"], "port '0' is out of range 1-65535"),
        (&["no-such-svc"], "unknown service 'no-such-svc'"),
        (&["80-20"], "range '80-20' is backwards"),
        (&["1-70000"], "port '70000' is out of range"),
        (
            &["--local", "10.0.0/8"],
            "'10.0.0/8' is not an IP address or CIDR",
        ),
        (
            &["--remote", "::1/129"],
            "'::1/129' is not an IP address or CIDR",
        ),
        (
            &["--local", "300.1.1.1"],
            "'300.1.1.1' is not an IP address or CIDR",
        ),
        (&["--state", "lisen"], "unknown state 'lisen'"),
        (&["--state", "listen,bogus"], "unknown state 'bogus'"),
        (
            &["--sort", "size"],
            "invalid value 'size' for '--sort <KEY>'",
        ),
        (
            &["--color=sometimes"],
            "invalid value 'sometimes' for '--color [<WHEN>]'",
        ),
        (
            // Not a colour value, so not taken as one: `--color` alone, then a port.
            &["--color", "sometimes"],
            "invalid value 'sometimes' for '[PORT|PATH]...': unknown service 'sometimes'",
        ),
        (&["--pid", "abc"], "invalid value 'abc' for '--pid <PID>'"),
        (&["--pid", "-1"], "unexpected argument '-1'"),
        (&["--bogus"], "unexpected argument '--bogus'"),
        (&["-z"], "unexpected argument '-z'"),
        (&["--json", "--csv"], "'--json' cannot be used with '--csv'"),
        (&["--user"], "a value is required for '--user <USER>'"),
        (&["--local", ""], "'' is not an IP address or CIDR"),
        (
            &["--remote", "10.0.0.1/8/8"],
            "'10.0.0.1/8/8' is not an IP address or CIDR",
        ),
        (
            &["--pid", "99999999999"],
            "invalid value '99999999999' for '--pid <PID>'",
        ),
        (&["--state", ""], "unknown state ''"),
        (&["--sort", ""], "a value is required for '--sort <KEY>'"),
        (&["--json=yes"], "unexpected value 'yes' for '--json'"),
        (&[":"], "':' is not a port number"),
        (&["80-"], "range '80-' needs a port on each side"),
        (&["8080", "99999"], "port '99999' is out of range"),
        (&["-c"], "a value is required for '--process <NAME>'"),
        (&["80,"], "an empty port (a comma too many?)"),
        (&["--state", "closed"], "use --state bound"),
        (
            &["completions", "tcsh"],
            "invalid value 'tcsh' for '<SHELL>'",
        ),
        (
            &["completions"],
            "required arguments were not provided: <SHELL>",
        ),
        (&["-l", "man"], "unknown service 'man'"),
    ];
    for (args, want) in cases {
        let output = ports().args(*args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let why = explain(args, &output);
        assert_eq!(output.status.code(), Some(2), "{why}");
        assert!(stderr.starts_with("error: "), "{why}");
        assert!(stderr.contains(want), "wanted {want:?}\n{why}");
        assert_eq!(stderr.lines().count(), 1, "{why}");
        assert!(!stderr.contains("panicked"), "{why}");
        assert!(output.stdout.is_empty(), "{why}");
    }
}

#[test]
fn sort_errors_list_the_keys() {
    let output = ports().args(["--sort", "size"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(
        "[possible values: proto, local, remote, port, state, pid, process, user, rate]"
    ));
}

#[test]
fn help_and_version_exit_zero() {
    for flag in ["--help", "-h", "--version", "-V"] {
        let output = ports().arg(flag).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            explain(&[flag], &output)
        );
        assert!(!output.stdout.is_empty());
    }
}
