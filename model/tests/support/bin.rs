//! Running the `refraft-model` binary as a person runs it: its exit status and output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_refraft-model");

/// The small vote-once configuration: BFS finds two leaders in term 1 in under a second.
pub const VOTE_ONCE: &[&str] = &[
    "--break",
    "vote-once",
    "--max-term",
    "1",
    "--max-crashes",
    "0",
];

/// Runs the binary with `args` and waits for it.
pub fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A path under the test's target directory that does not exist yet (removed if it did).
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
