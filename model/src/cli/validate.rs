//! `refraft-model validate TRACE.ndjson`: checks a trace written by any implementation
//! (`spec/TRACE.md`) against the rules of Figure 2 and the properties of Figure 3.

use crate::say;
use refraft_model::trace;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// How many violations are printed in full.
const SHOWN: usize = 20;

/// Validates `file` (`-` reads standard input). Exit code 0 if every rule holds, 1 on a
/// violation; an unreadable or malformed trace is an error (exit code 2).
/// `threads` threads in all share the parsing, this one checking (0: one per core; 1: parse
/// and check on this thread).
pub fn run(file: &Path, threads: usize) -> Result<ExitCode, String> {
    let started = Instant::now();
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let report = if file == Path::new("-") {
        trace::validate_parallel(std::io::stdin().lock(), threads)
    } else {
        let f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
        trace::validate_parallel(f, threads)
    }
    .map_err(|e| format!("{}: {e}", file.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    for v in report.violations.iter().take(SHOWN) {
        say!("{v}");
    }
    if report.violations.len() > SHOWN {
        say!("... and {} more", report.violations.len() - SHOWN);
    }
    let rate = report.steps as f64 / seconds.max(1e-9);
    if report.passed() {
        say!(
            "{}: {} steps, every rule holds ({seconds:.2} s, {rate:.0} steps/s)",
            file.display(),
            report.steps
        );
        Ok(ExitCode::SUCCESS)
    } else {
        let mut rules: Vec<&str> = report.violations.iter().map(|v| v.rule.name()).collect();
        rules.sort_unstable();
        rules.dedup();
        say!(
            "{}: {} violation(s) in {} steps, first at line {} ({})",
            file.display(),
            report.violations.len(),
            report.steps,
            report.violations[0].line,
            rules.join(", ")
        );
        Ok(ExitCode::from(1))
    }
}
