//! The applier: a thread that waits on the log store's commit index and applies each newly
//! committed entry, in order, to the key-value machine behind its client sessions (§5.3:
//! "if commitIndex > lastApplied, apply log\[lastApplied\]"). Its state is what `STATE` reports,
//! so that servers can be compared without going through the node thread.
//!
//! The core applies the same entries to its own copy to answer clients; both are the same
//! deterministic function of the committed log (§5, replicated state machines).

use refraft::log_store::{LogReader, Watermark};
use refraft::{Index, KvCommand, KvStore, Payload, SessionMachine};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// After applying what was committed, the applier waits this long before it looks again, so
/// that it wakes at most about once per pause however often the commit index moves (at one
/// client, once per SET otherwise, on every server, just when the leader answers). No client
/// waits for it: answers come from the core's own copy of the machine; only `STATE` lags by
/// at most this much.
pub const APPLY_PAUSE: Duration = Duration::from_millis(2);

/// The applied state.
#[derive(Debug)]
pub struct Applied {
    /// The highest index applied.
    pub index: Index,
    /// The machine.
    pub machine: SessionMachine<KvStore>,
}

impl Default for Applied {
    fn default() -> Self {
        Applied {
            index: 0,
            machine: SessionMachine::new(KvStore::default()),
        }
    }
}

impl Applied {
    /// An FNV-1a digest of the key-value pairs, equal on servers that applied the same log.
    pub fn digest(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (k, v) in self.machine.machine().pairs() {
            for b in k.bytes().chain([0]).chain(v.bytes()).chain([0xff]) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        h
    }
}

/// Starts the applier on `log`; it stops when the log writer is dropped.
pub fn spawn(log: LogReader<KvCommand>) -> Arc<Mutex<Applied>> {
    let applied = Arc::new(Mutex::new(Applied::default()));
    let shared = Arc::clone(&applied);
    std::thread::Builder::new()
        .name("applier".into())
        .spawn(move || {
            let mut next: Index = 1;
            while log.wait_for(Watermark::Commit, next - 1).is_ok() {
                let Ok(entries) = log.committed_from(next, 4096) else {
                    return;
                };
                let mut state = shared.lock().unwrap_or_else(|p| p.into_inner());
                for entry in entries {
                    if let Payload::Command {
                        client,
                        serial,
                        command,
                    } = &entry.payload
                    {
                        state.machine.apply(*client, *serial, command);
                    }
                    state.index = next;
                    next += 1;
                }
                drop(state);
                std::thread::sleep(APPLY_PAUSE);
            }
        })
        .expect("spawn the applier");
    applied
}
