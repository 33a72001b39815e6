//! Writes a simulator run as a trace (NDJSON, `spec/TRACE.md`) on standard output: five
//! servers, a client load, leaders crashing or cut off right after taking entries, restarts,
//! and (with `--unreliable`) a network that loses, duplicates and reorders.
//!
//! ```text
//! cargo run --release --example sim_trace -- --seed 1 --rounds 200 > run.ndjson
//! cargo run --release -p refraft-model -- validate run.ndjson
//! ```

use refraft::sim::{churn, NetworkConfig, SimConfig, Simulation};
use std::io::Write;

fn main() {
    let mut seed = 1;
    let mut rounds = 200;
    let mut unreliable = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage(&format!("{name} takes a number")))
        };
        match arg.as_str() {
            "--seed" => seed = number("--seed"),
            "--rounds" => rounds = number("--rounds"),
            "--unreliable" => unreliable = true,
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    let network = if unreliable {
        NetworkConfig::unreliable()
    } else {
        NetworkConfig::reliable()
    };
    let mut sim = Simulation::new(SimConfig::new(5, seed).network(network).traced());
    if let Err(e) = churn(&mut sim, seed, rounds, unreliable) {
        eprintln!("the simulator reported: {e}");
    }
    let (header, steps) = sim.take_trace();
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    let mut write = || -> std::io::Result<()> {
        serde_json::to_writer(&mut out, &header)?;
        out.write_all(b"\n")?;
        for step in &steps {
            serde_json::to_writer(&mut out, step)?;
            out.write_all(b"\n")?;
        }
        out.flush()
    };
    if let Err(e) = write() {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
    eprintln!("{} steps", steps.len());
}

fn usage(message: &str) -> ! {
    eprintln!("error: {message}\nusage: sim_trace [--seed N] [--rounds N] [--unreliable]");
    std::process::exit(2)
}
