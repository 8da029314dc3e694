//! What people meet before the first listing: completions that load in a real bash and
//! complete a flag, man pages (ports and each subcommand) that `man` renders without a warning,
//! and a crate package with the sources and none of the test scratch or CI and benchmark tooling.

use std::process::Command;

const PORTS: &str = env!("CARGO_BIN_EXE_ports");

#[test]
fn the_bash_completion_loads_and_completes_a_flag() {
    let script = format!(
        r#"source <("{PORTS}" completions bash) || exit 3
complete -p ports || exit 4
COMP_WORDS=(ports --lis); COMP_CWORD=1; COMP_LINE="ports --lis"; COMP_POINT=11
_ports ports --lis ports
printf '%s\n' "${{COMPREPLY[@]}}""#
    );
    let output = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains("-F _ports ports"), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("--listen"), "{stdout}");
}

#[test]
fn every_man_page_renders_without_warnings() {
    let dir = std::env::temp_dir().join(format!("ports-man-e2e-{}", std::process::id()));
    let written = Command::new(PORTS)
        .args(["man", "--out-dir"])
        .arg(&dir)
        .status()
        .unwrap();
    let names = [
        "ports",
        "ports-kill",
        "ports-metrics",
        "ports-completions",
        "ports-man",
    ];
    let pages = names.map(|name| render(&dir.join(format!("{name}.1"))));
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(written.success());
    for (name, page) in names.iter().zip(&pages) {
        assert_eq!(page.warnings, "", "{name}");
        assert!(page.text.contains("SEE ALSO"), "{name}: {}", page.text);
    }
    let [main, kill, metrics, ..] = &pages;
    for wanted in [
        "--watch",
        "--all-netns",
        "EXAMPLES",
        "EXIT STATUS",
        "JSON OUTPUT",
    ] {
        assert!(
            main.text.contains(wanted),
            "{wanted} missing: {}",
            main.text
        );
    }
    assert!(kill.text.contains("--dry-run") && metrics.text.contains("--openmetrics"));
}

/// A man page as `man -l` shows it at 80 columns, plain, and what man warned about.
struct Page {
    text: String,
    warnings: String,
}

fn render(page: &std::path::Path) -> Page {
    let output = Command::new("bash")
        .args([
            "-o",
            "pipefail",
            "-c",
            r#"MANWIDTH=80 man --warnings -l "$1" | col -b"#,
            "sh",
        ])
        .arg(page)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    Page {
        text: String::from_utf8_lossy(&output.stdout).into_owned(),
        warnings: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn the_crate_package_holds_what_builds_and_documents_it_and_nothing_untracked() {
    let root = env!("CARGO_MANIFEST_DIR");
    let listed = Command::new(env!("CARGO"))
        .args(["package", "--list", "--allow-dirty", "--offline", "-p"])
        .arg(env!("CARGO_PKG_NAME"))
        .current_dir(root)
        .output()
        .unwrap();
    assert!(listed.status.success(), "{listed:?}");
    let listed = String::from_utf8_lossy(&listed.stdout);
    let tracked = Command::new("git")
        .args(["ls-files"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        tracked.status.success(),
        "the tree must be a git checkout: {tracked:?}"
    );
    let tracked = String::from_utf8_lossy(&tracked.stdout);
    let tracked: Vec<&str> = tracked.lines().collect();
    for needed in [
        "src/main.rs",
        "Cargo.lock",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
    ] {
        assert!(
            listed.lines().any(|file| file == needed),
            "{needed} missing:\n{listed}"
        );
    }
    // Written by cargo package itself.
    let generated = [".cargo_vcs_info.json", "Cargo.toml.orig"];
    for file in listed.lines().filter(|file| !generated.contains(file)) {
        assert!(tracked.contains(&file), "{file} is packaged but not in git");
        assert!(
            !file.starts_with("bench/") && !file.starts_with(".ci/"),
            "{file}"
        );
    }
}
