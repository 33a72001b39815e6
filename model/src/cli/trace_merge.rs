//! `refraft-model trace-merge A B C -o ALL`: merges the per-server traces of separate
//! processes (`refraft serve --trace FILE`) into one cluster trace, each receive after its
//! send ([`refraft::trace::merge`]), for `validate` and `trace-tla`.

use crate::say;
use refraft::trace::merge;
use refraft_model::trace::to_ndjson;
use refraft_model::trace_data;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Merges `files` into `out`. A file that cannot be read, or traces that no order reconciles
/// (other servers, a message sent twice or received but never sent), is an error (exit 2).
pub fn run(files: &[PathBuf], out: &Path) -> Result<ExitCode, String> {
    let mut traces = Vec::with_capacity(files.len());
    for file in files {
        let f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let (header, steps) = trace_data::read(BufReader::with_capacity(1 << 20, f))
            .map_err(|e| format!("{}: {e}", file.display()))?;
        traces.push((header, steps.into_iter().map(|(_, s)| s).collect()));
    }
    let (header, steps) = merge(traces).map_err(|e| e.to_string())?;
    std::fs::write(out, to_ndjson(&header, &steps))
        .map_err(|e| format!("{}: {e}", out.display()))?;
    say!(
        "{}: {} steps of {} traces merged",
        out.display(),
        steps.len(),
        files.len()
    );
    Ok(ExitCode::SUCCESS)
}
