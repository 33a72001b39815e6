//! `serve --trace FILE`: this server's protocol steps in the trace format of `spec/TRACE.md`,
//! recorded around `Node::step` by the node thread with the core's own
//! [`refraft::trace::Recorder`] (the core is unchanged).
//!
//! The first start writes the header and an `init` line; a start on an existing trace file
//! (after a kill -9, say) appends a `restart` line showing the state read back from the data
//! directory, and goes on numbering lines and messages where the file stopped, so message ids
//! stay unique across the server's lives. A torn last line (the process killed mid-write) is
//! cut off first. Lines are buffered; the node thread writes them out just before each write
//! to disk (the WAL's at the end of a turn, a hard-state change), so the trace never shows less
//! than the disk holds and every message sent is in the file before it leaves.
//!
//! ```
//! use refraft::{Config, DurableState, KvStore, Node, NodeEffects, NodeId};
//! use refraft::trace::Kind;
//! use refraft_server::trace_log::TraceLog;
//! let path = std::env::temp_dir().join(format!("refraft-trace-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_file(&path);
//! let ids = vec![NodeId(1), NodeId(2), NodeId(3)];
//! let mut out = NodeEffects::<KvStore>::new();
//! let node = Node::new(Config::new(NodeId(1), ids.clone()).unwrap(), DurableState::default(),
//!     KvStore::default(), &mut out).unwrap();
//! let mut trace = TraceLog::open(&path, NodeId(1), &ids).unwrap();
//! assert_eq!(trace.kind(), Kind::Init);
//! trace.start(out.as_slice(), &node, &mut Vec::new());
//! trace.flush().unwrap();
//! drop(trace);
//! let trace = TraceLog::open(&path, NodeId(1), &ids).unwrap(); // a second life
//! assert_eq!(trace.kind(), Kind::Restart);
//! let text = std::fs::read_to_string(&path).unwrap();
//! assert!(text.starts_with(r#"{"format":"raft-trace","version":1,"nodes":[1,2,3]}"#));
//! # std::fs::remove_file(&path).unwrap();
//! ```

use refraft::trace::{parse_step, Header, Kind, MessageId, Recorder, Step, StepEffect};
use refraft::{Effect, Input, KvCommand, KvOutput, KvStore, Node, NodeId};
use std::fs::{File, OpenOptions};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

/// Why the trace file cannot be used.
#[derive(Debug)]
pub enum TraceLogError {
    /// The file could not be opened, read, cut or written.
    Io {
        /// The file.
        path: PathBuf,
        /// What was done.
        what: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// The existing file is not a trace of this cluster by this server.
    Foreign {
        /// The file.
        path: PathBuf,
        /// Its line (from 1) that does not fit; 0 for the file as a whole.
        line: usize,
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for TraceLogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TraceLogError::Io { path, what, source } => {
                write!(f, "trace file {}: cannot {what}: {source}", path.display())
            }
            TraceLogError::Foreign {
                path,
                line: 0,
                reason,
            } => {
                write!(f, "trace file {}: {reason}", path.display())
            }
            TraceLogError::Foreign { path, line, reason } => write!(
                f,
                "trace file {} line {line}: {reason} (give another --trace file)",
                path.display()
            ),
        }
    }
}

impl std::error::Error for TraceLogError {}

/// The trace file of one server, open for appending.
#[derive(Debug)]
pub struct TraceLog {
    path: PathBuf,
    file: File,
    /// Whole lines not yet written: they reach the file only at [`flush`](Self::flush), so
    /// that the node thread decides when (never a part of a turn as a buffer fills).
    buf: Vec<u8>,
    recorder: Recorder,
    kind: Kind,
}

impl TraceLog {
    /// Opens (or creates) the trace of server `me` in a cluster of `members`.
    pub fn open(path: &Path, me: NodeId, members: &[NodeId]) -> Result<Self, TraceLogError> {
        let io = |what| {
            let path = path.to_path_buf();
            move |source| TraceLogError::Io { path, what, source }
        };
        let nodes: Vec<u64> = members.iter().map(|n| n.0).collect();
        // A device or a pipe would never end to a reader (/dev/full gives zeros forever).
        if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
            return Err(TraceLogError::Foreign {
                path: path.to_path_buf(),
                line: 0,
                reason: "not a regular file".into(),
            });
        }
        let old = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io("read")(e)),
        };
        // A line is whole once its newline is written: cut off a torn last line.
        let whole = old.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let (recorder, kind) = if whole == 0 {
            (Recorder::default(), Kind::Init)
        } else {
            (resume(path, &old[..whole], me, &nodes)?, Kind::Restart)
        };
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(path)
            .map_err(io("open"))?;
        file.set_len(whole as u64)
            .map_err(io("cut the torn tail of"))?;
        let mut file = file;
        file.seek(std::io::SeekFrom::End(0)).map_err(io("seek"))?;
        if kind == Kind::Init {
            let header = serde_json::to_string(&Header::new(nodes)).unwrap_or_default();
            writeln!(file, "{header}").map_err(io("write"))?;
        }
        Ok(TraceLog {
            path: path.to_path_buf(),
            file,
            buf: Vec::with_capacity(64 << 10),
            recorder,
            kind,
        })
    }

    /// `Init` for a new trace file, `Restart` when it goes on an earlier one.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Records the start line: `effects` are those of `Node::new`; the sequence numbers of
    /// its sends (if any) are added to `sends`, in order.
    pub fn start(
        &mut self,
        effects: &[Effect<KvCommand, KvOutput>],
        node: &Node<KvStore>,
        sends: &mut impl Extend<u64>,
    ) {
        let step = self.recorder.start(self.kind, effects, node);
        sends.extend(Recorder::sent_ids(&step).map(|(_, id)| id.seq));
        self.write(&step);
    }

    /// Records one step (`id`: the sender's sequence number of a received message, if the
    /// frame carried one); the sequence numbers of its sends are added to `sends`, in order.
    pub fn step(
        &mut self,
        input: &Input<KvCommand>,
        id: Option<u64>,
        effects: &[Effect<KvCommand, KvOutput>],
        node: &Node<KvStore>,
        sends: &mut impl Extend<u64>,
    ) {
        let id = match (input, id) {
            (Input::Message { from, .. }, Some(seq)) => Some(MessageId {
                sender: from.0,
                seq,
            }),
            _ => None,
        };
        let step = self.recorder.step(input, id, effects, node);
        sends.extend(Recorder::sent_ids(&step).map(|(_, id)| id.seq));
        self.write(&step);
    }

    fn write(&mut self, step: &Step) {
        // Serializing plain data into memory cannot fail.
        let _ = serde_json::to_writer(&mut self.buf, step);
        self.buf.push(b'\n');
    }

    /// Hands the buffered lines to the operating system in one write (they then survive a
    /// kill -9).
    pub fn flush(&mut self) -> Result<(), TraceLogError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.buf);
        self.buf.clear();
        result.map_err(|source| TraceLogError::Io {
            path: self.path.clone(),
            what: "write",
            source,
        })
    }
}

/// A recorder that goes on after the whole lines `text` of an earlier trace by `me`.
fn resume(path: &Path, text: &[u8], me: NodeId, nodes: &[u64]) -> Result<Recorder, TraceLogError> {
    let foreign = |line, reason: String| TraceLogError::Foreign {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut lines = text.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    let header: Header = lines
        .next()
        .and_then(|l| serde_json::from_slice(l).ok())
        .ok_or_else(|| foreign(1, "not a trace header".into()))?;
    let (mut want, mut have) = (nodes.to_vec(), header.nodes.clone());
    want.sort_unstable();
    have.sort_unstable();
    if want != have {
        return Err(foreign(
            1,
            format!("traces servers {have:?}, this cluster is {want:?}"),
        ));
    }
    let (mut seq, mut sent) = (0, 0);
    for (i, line) in lines.enumerate() {
        let step = parse_step(line)
            .or_else(|_| serde_json::from_slice::<Step>(line))
            .map_err(|e| foreign(i + 2, format!("not a step: {e}")))?;
        if step.node != me.0 {
            return Err(foreign(
                i + 2,
                format!("a step of server {}, not of {}", step.node, me.0),
            ));
        }
        seq = seq.max(step.seq);
        for e in &step.effects {
            if let StepEffect::Send { id: Some(id), .. } = e {
                sent = sent.max(id.seq);
            }
        }
    }
    Ok(Recorder::resume(seq, [(me.0, sent)]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use refraft::{Config, DurableState, NodeEffects, Timer};

    fn life(path: &Path) -> Vec<u64> {
        let ids = vec![NodeId(1), NodeId(2), NodeId(3)];
        let mut out = NodeEffects::<KvStore>::new();
        let config = Config::new(NodeId(1), ids.clone()).unwrap();
        let mut node = Node::new(
            config,
            DurableState::default(),
            KvStore::default(),
            &mut out,
        )
        .unwrap();
        let mut trace = TraceLog::open(path, NodeId(1), &ids).unwrap();
        let mut sends = Vec::new();
        trace.start(out.as_slice(), &node, &mut sends);
        out.clear();
        let input = Input::Timeout(Timer::Election);
        node.step(input.clone(), &mut out).unwrap();
        trace.step(&input, None, out.as_slice(), &node, &mut sends);
        trace.flush().unwrap();
        sends
    }

    #[test]
    fn a_full_disk_is_a_typed_error_at_flush() {
        let path = PathBuf::from("/dev/full");
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        let mut trace = TraceLog {
            path,
            file,
            buf: Vec::new(),
            recorder: Recorder::default(),
            kind: Kind::Init,
        };
        assert!(trace.flush().is_ok()); // nothing to write
        trace.buf.extend_from_slice(b"{}\n");
        let err = trace.flush().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("trace file /dev/full: cannot write: "),
            "{err}"
        );
        assert!(trace.buf.is_empty(), "the lines are dropped, not retried");
    }

    #[test]
    fn a_second_life_cuts_a_torn_line_and_numbers_on() {
        let path = std::env::temp_dir().join(format!("refraft-trace-test-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        assert_eq!(life(&path), [1, 2]); // two pre-vote requests
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"seq\":3,\"node\":1,\"ki").unwrap(); // killed mid-line
        drop(f);
        assert_eq!(life(&path), [3, 4]);
        let text = std::fs::read_to_string(&path).unwrap();
        let kinds: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| {
                l.split("\"kind\":\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
            })
            .collect();
        assert_eq!(kinds, ["init", "timeout", "restart", "timeout"]);
        let seqs: Vec<u64> = text
            .lines()
            .skip(1)
            .map(|l| serde_json::from_str::<Step>(l).unwrap().seq)
            .collect();
        assert_eq!(seqs, [1, 2, 3, 4]);
        std::fs::remove_file(&path).unwrap();
    }
}
