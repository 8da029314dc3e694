//! Exit codes, as grep and ripgrep use them, plus the shell's code for an interrupt.

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Some socket matched.
    Matched = 0,
    /// No socket matched.
    NoMatch = 1,
    /// Bad input or a failure.
    Error = 2,
    /// Stopped by SIGINT (Ctrl-C), as a shell reports it: 128 + 2.
    Interrupted = 130,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}
