//! The `refraft` command line: `serve`, `client` and `cluster`.

use crate::client::{Client, Outcome};
use crate::server::ServerConfig;
use clap::{Args, Parser, Subcommand};
use refraft::{KvCommand, NodeId};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode};
use std::time::Duration;

/// A Raft-replicated key-value store.
#[derive(Debug, Parser)]
#[command(name = "refraft", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Cmd,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run one server.
    Serve(ServeArgs),
    /// Send commands to a cluster (from the arguments, or one per line from standard input).
    Client(ClientArgs),
    /// Start a local three-node cluster (three `serve` processes), restarting a killed one.
    Cluster(ClusterArgs),
}

/// `refraft serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Read the settings from this TOML file instead (see `config_file`); the other settings
    /// then may not be given on the command line.
    #[arg(
        long,
        conflicts_with_all = ["id", "peers", "data", "client", "election_ms", "heartbeat_ms",
            "request_timeout_ms", "reconnect_ms", "trace"]
    )]
    pub config: Option<PathBuf>,
    /// This server's id.
    #[arg(long, required_unless_present = "config")]
    pub id: Option<u64>,
    /// Every member's peer address, this one's included: `1=127.0.0.1:7001,2=...,3=...`.
    #[arg(long, value_parser = parse_peers, required_unless_present = "config")]
    pub peers: Option<BTreeMap<NodeId, SocketAddr>>,
    /// The data directory (created if missing).
    #[arg(long, required_unless_present = "config")]
    pub data: Option<PathBuf>,
    /// The client address to listen on.
    #[arg(long, required_unless_present = "config")]
    pub client: Option<SocketAddr>,
    /// The election timeout range in milliseconds, `MIN-MAX` (§5.2).
    #[arg(long, default_value = "150-300", value_parser = parse_range)]
    pub election_ms: (u64, u64),
    /// The heartbeat interval in milliseconds.
    #[arg(long, default_value_t = 50)]
    pub heartbeat_ms: u64,
    /// How long a client request waits for its commit, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub request_timeout_ms: u64,
    /// The wait between attempts to connect to a peer, in milliseconds, `MIN-MAX`: it starts
    /// at MIN after a connection is lost and doubles after each failed attempt, up to MAX.
    #[arg(long, default_value = "10-500", value_parser = parse_range)]
    pub reconnect_ms: (u64, u64),
    /// Write this server's protocol steps to this file, in the trace format of spec/TRACE.md
    /// (appended to on a restart; merge the servers' files with `refraft-model trace-merge`).
    /// Off by default.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Exit when standard input reaches its end: a parent that holds the other end of a pipe
    /// (`refraft cluster`, the tests) then never leaves a server behind, even when it is killed.
    #[arg(long)]
    pub exit_on_stdin_eof: bool,
}

/// `refraft client`.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Client addresses of the servers, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103"
    )]
    pub servers: Vec<String>,
    /// Give up on a command after this many milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub timeout_ms: u64,
    /// One command, e.g. `SET x=1`; without it, commands are read from standard input.
    pub command: Vec<String>,
}

/// `refraft cluster`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The directory for the three data directories.
    #[arg(long, default_value = "refraft-data")]
    pub dir: PathBuf,
    /// Peer ports are BASE+1..=BASE+3, client ports BASE+101..=BASE+103.
    #[arg(long, default_value_t = 7000)]
    pub base_port: u16,
}

fn parse_peers(s: &str) -> Result<BTreeMap<NodeId, SocketAddr>, String> {
    let mut peers = BTreeMap::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (id, addr) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not ID=HOST:PORT"))?;
        let id: u64 = id
            .trim()
            .parse()
            .map_err(|_| format!("bad server id {id:?}"))?;
        let addr: SocketAddr = addr
            .trim()
            .parse()
            .map_err(|e| format!("bad address {addr:?}: {e}"))?;
        if peers.insert(NodeId(id), addr).is_some() {
            return Err(format!("server id {id} is listed twice"));
        }
    }
    if peers.is_empty() {
        return Err("no peers listed".into());
    }
    Ok(peers)
}

/// Parses `MIN-MAX` with `MIN < MAX`.
pub(crate) fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s.split_once('-').ok_or("want MIN-MAX")?;
    let (a, b) = (a.parse::<u64>(), b.parse::<u64>());
    match (a, b) {
        (Ok(a), Ok(b)) if a < b => Ok((a, b)),
        _ => Err(format!("{s:?} is not MIN-MAX with MIN < MAX")),
    }
}

impl ServeArgs {
    /// The server configuration these arguments (or the file they name) describe.
    pub fn config(&self) -> Result<ServerConfig, String> {
        if let Some(path) = &self.config {
            return crate::config_file::load(path).map_err(|e| e.to_string());
        }
        let missing = |flag: &str| format!("--{flag} is required (or --config FILE)");
        Ok(ServerConfig {
            id: NodeId(self.id.ok_or_else(|| missing("id"))?),
            peers: self.peers.clone().ok_or_else(|| missing("peers"))?,
            data: self.data.clone().ok_or_else(|| missing("data"))?,
            client_addr: self.client.ok_or_else(|| missing("client"))?,
            election_timeout: Duration::from_millis(self.election_ms.0)
                ..Duration::from_millis(self.election_ms.1),
            heartbeat: Duration::from_millis(self.heartbeat_ms),
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            reconnect_backoff: (
                Duration::from_millis(self.reconnect_ms.0),
                Duration::from_millis(self.reconnect_ms.1),
            ),
            trace: self.trace.clone(),
        })
    }
}

/// Starts a thread that exits the process once standard input is closed.
pub fn exit_on_stdin_eof() {
    std::thread::spawn(|| {
        let mut sink = [0u8; 64];
        loop {
            match std::io::Read::read(&mut std::io::stdin(), &mut sink) {
                Ok(0) | Err(_) => {
                    tracing::info!("standard input closed: exiting");
                    std::process::exit(0);
                }
                Ok(_) => {}
            }
        }
    });
}

/// Runs `refraft client`: prints each answer; exits 1 on the first command that fails.
pub fn run_client(args: ClientArgs) -> ExitCode {
    let mut client = Client::new(args.servers, Duration::from_millis(args.timeout_ms));
    let mut run = |line: &str| -> bool {
        let command: KvCommand = match line.parse() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("refraft client: {e}");
                return false;
            }
        };
        match client.execute(&command) {
            Ok(Outcome::Done) => println!("OK"),
            Ok(Outcome::Value(Some(v))) => println!("{v}"),
            Ok(Outcome::Value(None)) => println!("NOT_FOUND"),
            Err(e) => {
                eprintln!("refraft client: {e}");
                return false;
            }
        }
        true
    };
    let ok = if args.command.is_empty() {
        std::io::stdin()
            .lock()
            .lines()
            .map_while(Result::ok)
            .filter(|l| !l.trim().is_empty())
            .all(|l| run(&l))
    } else {
        run(&args.command.join(" "))
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs `refraft cluster`: three `serve` children of this same binary; returns when one exits.
pub fn run_cluster(args: ClusterArgs) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("refraft cluster: cannot find this program: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.base_port.checked_add(103).is_none() {
        eprintln!(
            "refraft cluster: --base-port {} leaves no room for ports up to +103",
            args.base_port
        );
        return ExitCode::FAILURE;
    }
    let peers = (1..=3)
        .map(|i| format!("{i}=127.0.0.1:{}", args.base_port + i))
        .collect::<Vec<_>>()
        .join(",");
    let start = |i: u16| -> std::io::Result<Child> {
        let client = format!("127.0.0.1:{}", args.base_port + 100 + i);
        let child = Command::new(&exe)
            .args(["serve", "--id", &i.to_string(), "--peers", &peers])
            .args(["--client", &client, "--exit-on-stdin-eof"])
            .arg("--data")
            .arg(args.dir.join(format!("n{i}")))
            .stdin(std::process::Stdio::piped())
            .spawn()?;
        println!("server {i}: pid {}, clients at {client}", child.id());
        Ok(child)
    };
    let mut children: Vec<Child> = Vec::new();
    for i in 1..=3u16 {
        match start(i) {
            Ok(child) => children.push(child),
            Err(e) => {
                eprintln!("refraft cluster: cannot start server {i}: {e}");
                return stop_all(children, ExitCode::FAILURE);
            }
        }
    }
    println!(
        "try: refraft client --servers 127.0.0.1:{},127.0.0.1:{},127.0.0.1:{} SET x=1",
        args.base_port + 101,
        args.base_port + 102,
        args.base_port + 103
    );
    // A server killed by a signal (kill -9 of the leader, say) is restarted on its data
    // directory after a second; one that exits on its own (a storage error, a busy port) stops
    // the cluster. Ctrl-C reaches every process of the group, this one included.
    loop {
        for (i, id) in (0..children.len()).zip(1u16..) {
            let Ok(Some(status)) = children[i].try_wait() else {
                continue;
            };
            if std::os::unix::process::ExitStatusExt::signal(&status).is_none() {
                eprintln!("server {id} exited: {status}; stopping the others");
                return stop_all(children, ExitCode::FAILURE);
            }
            eprintln!("server {id} was killed ({status}); restarting it in 1 s");
            std::thread::sleep(Duration::from_secs(1));
            match start(id) {
                Ok(child) => children[i] = child,
                Err(e) => {
                    eprintln!("refraft cluster: cannot restart server {id}: {e}");
                    return stop_all(children, ExitCode::FAILURE);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stop_all(children: Vec<Child>, code: ExitCode) -> ExitCode {
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
    code
}
