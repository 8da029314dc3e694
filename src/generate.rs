//! Shell completions and the man page, generated from the one clap definition in `cli.rs`.

use std::io::{self, Write};

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Opts;

/// Writes the completion script for `shell`.
pub fn completions(shell: Shell, out: &mut dyn Write) -> io::Result<()> {
    let mut command = Opts::command();
    clap_complete::generate(shell, &mut command, "ports", out);
    Ok(())
}

/// Writes the man page, in roff.
pub fn man_page(out: &mut dyn Write) -> io::Result<()> {
    clap_mangen::Man::new(Opts::command()).render(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_name_the_flags() {
        let mut bash = Vec::new();
        completions(Shell::Bash, &mut bash).unwrap();
        let bash = String::from_utf8(bash).unwrap();
        assert!(
            bash.contains("--listen") && bash.contains("completions"),
            "{bash}"
        );
    }

    #[test]
    fn the_man_page_is_roff_with_every_option() {
        let mut page = Vec::new();
        man_page(&mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.starts_with(".ie"), "{}", &page[..80]);
        assert!(page.contains(".TH ports 1") && page.contains("\\-\\-listen"));
    }
}
