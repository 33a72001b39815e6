//! Real server processes on loopback, for tests: ports reserved at run time, every child
//! killed on drop (even when the test fails), and `STATE` queries over the client protocol.

pub use super::ports::free_addr;
use super::tempdir::TempDir;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One line of `STATE`, as key/value pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State(pub BTreeMap<String, String>);

impl State {
    pub fn get(&self, key: &str) -> &str {
        self.0.get(key).map_or("", String::as_str)
    }
    pub fn num(&self, key: &str) -> u64 {
        self.get(key).parse().unwrap_or(0)
    }
    pub fn is_leader(&self) -> bool {
        self.get("role") == "leader"
    }
}

pub struct Cluster {
    pub dir: TempDir,
    pub exe: PathBuf,
    pub peer_addrs: Vec<SocketAddr>,
    pub client_addrs: Vec<SocketAddr>,
    /// Per server, the `--peers` argument (which may route links through a proxy).
    pub peers_args: Vec<String>,
    pub procs: Vec<Option<Child>>,
    /// Servers run with `--trace` (to [`Cluster::trace_file`]).
    pub traced: bool,
    /// Where the trace files go, if not in the cluster's directory.
    pub trace_dir: Option<PathBuf>,
}

impl Cluster {
    /// `n` servers with direct links.
    pub fn start(n: usize, tag: &str) -> Self {
        let mut c = Self::new(n, tag, |_, _, direct| direct);
        for i in 0..n {
            c.spawn(i);
        }
        c
    }

    /// `n` servers, not started, whose link from `i` to `j` goes to `route(i, j, direct)`.
    pub fn new(
        n: usize,
        tag: &str,
        route: impl Fn(usize, usize, SocketAddr) -> SocketAddr,
    ) -> Self {
        let peer_addrs: Vec<_> = (0..n).map(|_| free_addr()).collect();
        let client_addrs: Vec<_> = (0..n).map(|_| free_addr()).collect();
        let peers_args = (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| {
                        let addr = if i == j {
                            peer_addrs[j]
                        } else {
                            route(i, j, peer_addrs[j])
                        };
                        format!("{}={addr}", j + 1)
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        Cluster {
            dir: TempDir::new(tag),
            exe: PathBuf::from(env!("CARGO_BIN_EXE_refraft")),
            peer_addrs,
            client_addrs,
            peers_args,
            procs: (0..n).map(|_| None).collect(),
            traced: false,
            trace_dir: None,
        }
    }

    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("n{}", i + 1))
    }

    pub fn log_file(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("n{}.log", i + 1))
    }

    /// Server `i`'s trace file, when the cluster is `traced`.
    pub fn trace_file(&self, i: usize) -> PathBuf {
        let dir = self.trace_dir.as_deref().unwrap_or(self.dir.path());
        dir.join(format!("n{}.trace.ndjson", i + 1))
    }

    /// Starts server `i` (index from 0; its id is `i + 1`).
    pub fn spawn(&mut self, i: usize) {
        assert!(self.procs[i].is_none(), "server {i} already runs");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file(i))
            .expect("open a log file");
        let mut command = Command::new(&self.exe);
        command.arg("serve");
        if self.traced {
            command.arg("--trace").arg(self.trace_file(i));
        }
        let child = command
            .args(["--id", &(i + 1).to_string(), "--peers", &self.peers_args[i]])
            .arg("--data")
            .arg(self.data_dir(i))
            .args(["--client", &self.client_addrs[i].to_string()])
            .args(["--request-timeout-ms", "1500", "--exit-on-stdin-eof"])
            .env("RUST_LOG", "info")
            // The pipe's other end lives in `procs`: if this process dies, so do the servers.
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start a server");
        self.procs[i] = Some(child);
    }

    /// kill -9 of server `i`, waiting for it to be gone.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.procs[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn is_up(&self, i: usize) -> bool {
        self.procs[i].is_some()
    }

    /// Panics, naming the server and showing its log, if a server this harness did not kill
    /// has exited (a bind failure, a crash): the results after that would be meaningless.
    pub fn assert_running(&self) {
        for (i, child) in self.procs.iter().enumerate() {
            let Some(child) = child else { continue };
            let exited = std::fs::read_to_string(format!("/proc/{}/stat", child.id()))
                .map_or(true, |stat| {
                    stat.split(") ").nth(1).is_some_and(|r| r.starts_with('Z'))
                });
            if exited {
                let log = std::fs::read_to_string(self.log_file(i)).unwrap_or_default();
                panic!("server {} exited on its own; its log:\n{log}", i + 1);
            }
        }
    }

    pub fn clients(&self) -> Vec<String> {
        self.client_addrs.iter().map(|a| a.to_string()).collect()
    }

    /// One request line to server `i`, its first answer line (or `None` if unreachable).
    pub fn ask(&self, i: usize, line: &str) -> Option<Vec<String>> {
        let mut stream =
            TcpStream::connect_timeout(&self.client_addrs[i], Duration::from_millis(300)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
        writeln!(stream, "{line}").ok()?;
        let mut reader = BufReader::new(stream);
        let multi = line.starts_with("LOG");
        let mut lines = Vec::new();
        loop {
            let mut answer = String::new();
            if reader.read_line(&mut answer).ok()? == 0 {
                return None;
            }
            let answer = answer.trim_end().to_string();
            let done = !multi || answer == "END";
            lines.push(answer);
            if done {
                return Some(lines);
            }
        }
    }

    pub fn state(&self, i: usize) -> Option<State> {
        let line = self.ask(i, "STATE")?.pop()?;
        let pairs = line
            .strip_prefix("STATE ")?
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Some(State(pairs))
    }

    /// The index of a server that says it leads, among those running; waits up to `within`.
    pub fn wait_for_leader(&self, within: Duration) -> Option<usize> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            self.assert_running();
            let leader = (0..self.procs.len())
                .filter(|&i| self.is_up(i))
                .filter_map(|i| Some((i, self.state(i)?)))
                .filter(|(_, s)| s.is_leader())
                .max_by_key(|(_, s)| s.num("term"));
            if let Some((i, _)) = leader {
                return Some(i);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Waits until every server reports the same commit index, applied index and digest.
    pub fn wait_converged(&self, within: Duration) -> Result<State, Vec<Option<State>>> {
        let deadline = Instant::now() + within;
        loop {
            self.assert_running();
            let states: Vec<_> = (0..self.procs.len()).map(|i| self.state(i)).collect();
            let key = |s: &State| {
                (
                    s.num("commit"),
                    s.num("applied"),
                    s.get("digest").to_string(),
                )
            };
            if let Some(Some(first)) = states.first() {
                let same = states
                    .iter()
                    .all(|s| s.as_ref().is_some_and(|s| key(s) == key(first)));
                if same && first.num("applied") == first.num("commit") && first.num("commit") > 0 {
                    return Ok(first.clone());
                }
            }
            if Instant::now() > deadline {
                return Err(states);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every committed entry of server `i`, as `LOG` lines.
    pub fn committed_log(&self, i: usize) -> Vec<String> {
        let commit = self.state(i).map_or(0, |s| s.num("commit"));
        let mut lines = Vec::new();
        let mut from = 1;
        while from <= commit {
            let batch = self
                .ask(i, &format!("LOG {from} 5000"))
                .expect("LOG answered");
            let entries: Vec<_> = batch.into_iter().filter(|l| l != "END").collect();
            if entries.is_empty() {
                break;
            }
            from += entries.len() as u64;
            lines.extend(entries);
        }
        lines.truncate(commit as usize);
        lines
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.procs.len() {
            self.kill(i);
        }
        if std::thread::panicking() {
            for i in 0..self.procs.len() {
                let log = std::fs::read_to_string(self.log_file(i)).unwrap_or_default();
                let tail: Vec<_> = log.lines().rev().take(30).collect();
                eprintln!("--- last lines of server {} ---", i + 1);
                for line in tail.into_iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}
