//! The `refraft` binary as people run it: bad arguments and bad disks give one clear line and
//! a non-zero exit, never a panic; `nc`-style sessions; the client command; exactly-once
//! retries; malformed peer frames; the one-command local cluster.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::cluster::{free_addr, Cluster};
use support::tempdir::TempDir;

fn refraft(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_refraft"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run refraft")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn serve_args(data: &str, client: &str) -> Vec<String> {
    let peer = free_addr();
    [
        "serve",
        "--id",
        "1",
        "--peers",
        &format!("1={peer}"),
        "--data",
        data,
        "--client",
        client,
    ]
    .map(String::from)
    .to_vec()
}

fn run_serve(args: &[String]) -> Output {
    refraft(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// `refraft serve --id ID --peers PEERS --data DATA --client CLIENT EXTRA...` exits with
/// `code` and a message containing `needle`, without a panic.
fn assert_serve_refused(args: [&str; 4], extra: &[&str], code: i32, needle: &str) {
    let [id, peers, data, client] = args;
    let mut all = vec![
        "serve", "--id", id, "--peers", peers, "--data", data, "--client", client,
    ];
    all.extend_from_slice(extra);
    let out = refraft(&all);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert!(err.contains(needle), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_arguments_are_named_and_exit_non_zero() {
    let local = "127.0.0.1:1";
    assert_serve_refused(
        ["1", "1=localhost", "d", local],
        &[],
        2,
        "bad address \"localhost\"",
    );
    let twice = "1=127.0.0.1:1,1=127.0.0.1:2";
    assert_serve_refused(
        ["1", twice, "d", local],
        &[],
        2,
        "server id 1 is listed twice",
    );
    let range = ["--election-ms", "300-100"];
    assert_serve_refused(["1", "1=127.0.0.1:1", "d", local], &range, 2, "MIN < MAX");
    let scratch = TempDir::new("cli-id");
    let data = scratch.path().join("d");
    let peers = format!("1={}", free_addr());
    let client = free_addr().to_string();
    let args = ["4", &peers, data.to_str().unwrap(), &client];
    assert_serve_refused(args, &[], 1, "--peers does not list this server's id 4");
}

#[test]
fn a_busy_address_and_an_unwritable_data_directory_are_errors_not_panics() {
    let scratch = TempDir::new("cli-busy");
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_addr = busy.local_addr().unwrap().to_string();
    let out = run_serve(&serve_args(
        scratch.path().join("d").to_str().unwrap(),
        &busy_addr,
    ));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot listen for clients on {busy_addr}")),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let out = run_serve(&serve_args(
        "/sys/kernel/refraft-data",
        &free_addr().to_string(),
    ));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("permission denied: create directory /sys/kernel/refraft-data"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_unusable_trace_file_is_an_error_at_start_not_a_panic() {
    let scratch = TempDir::new("cli-trace");
    let data = scratch.path().join("d");
    let cases = [
        (
            "/sys/kernel/refraft.trace",
            "cannot open: Permission denied",
        ),
        ("/dev/full", "not a regular file"),
    ];
    for (trace, needle) in cases {
        let mut args = serve_args(data.to_str().unwrap(), &free_addr().to_string());
        args.extend(["--trace".to_string(), trace.to_string()]);
        let out = run_serve(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("trace file {trace}: {needle}")),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    // A trace file of another cluster is refused, naming its header line.
    let other = scratch.path().join("other.ndjson");
    std::fs::write(
        &other,
        "{\"format\":\"raft-trace\",\"version\":1,\"nodes\":[1,2]}\n",
    )
    .unwrap();
    let mut args = serve_args(data.to_str().unwrap(), &free_addr().to_string());
    args.extend(["--trace".to_string(), other.display().to_string()]);
    let out = run_serve(&args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("line 1: traces servers [1, 2], this cluster is [1]"),
        "{err}"
    );
}

#[test]
fn a_corrupt_middle_record_stops_the_server_naming_file_and_offset() {
    let scratch = TempDir::new("cli-corrupt");
    let data = scratch.path().join("d");
    let wal = data.join("wal");
    {
        let (mut w, _) = refraft_server::wal::Wal::<refraft::KvCommand>::open(&wal).unwrap();
        for i in 1..=3 {
            w.append(i, &[refraft::Entry::noop(0)]).unwrap();
            w.sync().unwrap();
        }
    }
    let segment = wal.join("00000001.wal");
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[9] ^= 0x40; // inside the first record's payload
    std::fs::write(&segment, &bytes).unwrap();
    let out = run_serve(&serve_args(
        data.to_str().unwrap(),
        &free_addr().to_string(),
    ));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "corrupt record in {} at byte offset 0",
            segment.display()
        )),
        "{err}"
    );
    assert!(err.contains("refusing to start"), "{err}");
}

#[test]
fn the_client_command_times_out_with_a_clear_message() {
    let nobody = free_addr().to_string();
    let out = refraft(&[
        "client",
        "--servers",
        &nobody,
        "--timeout-ms",
        "300",
        "SET",
        "x=1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("no answer to `SET x=1` within"), "{err}");
    assert!(err.contains("may or may not have taken effect"), "{err}");
    let out = refraft(&["client", "--servers", &nobody, "PUT", "x"]);
    assert!(
        stderr(&out).contains("unknown verb \"PUT\""),
        "{}",
        stderr(&out)
    );
}

/// A line session on a raw TCP connection, like `nc`.
struct Line(BufReader<TcpStream>, TcpStream);

impl Line {
    fn connect(addr: &str) -> Self {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Line(BufReader::new(s.try_clone().unwrap()), s)
    }
    fn ask(&mut self, line: &str) -> String {
        writeln!(self.1, "{line}").unwrap();
        let mut answer = String::new();
        self.0.read_line(&mut answer).unwrap();
        answer.trim_end().to_string()
    }
}

#[test]
fn a_line_session_redirects_and_a_retried_serial_is_applied_once() {
    let cluster = Cluster::start(3, "cli-lines");
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).unwrap();
    let follower = (leader + 1) % 3;
    let clients = cluster.clients();
    let mut f = Line::connect(&clients[follower]);
    assert_eq!(f.ask("SET x=1"), format!("NOT_LEADER {}", clients[leader]));
    assert!(f.ask("FROB x").starts_with("ERR unknown verb"));
    assert!(f.ask("SET novalue").starts_with("ERR bad argument"));
    let mut l = Line::connect(&clients[leader]);
    assert_eq!(l.ask("GET x"), "NOT_FOUND");
    assert_eq!(l.ask("SET x=1"), "OK");
    assert_eq!(l.ask("GET x"), "1");
    assert_eq!(l.ask("DEL x"), "OK");
    assert_eq!(l.ask("GET x"), "NOT_FOUND");
    assert!(l.ask("SET y=NOT_FOUND").starts_with("ERR"));
    // Exactly once (dissertation §6.3): a retry of an applied serial is answered, not re-applied.
    assert_eq!(l.ask("@7:1 SET x=a"), "OK");
    assert_eq!(l.ask("SET x=b"), "OK");
    assert_eq!(l.ask("@7:1 SET x=a"), "OK");
    assert_eq!(l.ask("GET x"), "b");
    assert!(l.ask("@7:0 SET x=c").starts_with("ERR session expired"));
    assert_eq!(l.ask("GET x"), "b");
    let log = cluster.committed_log(leader);
    assert_eq!(
        log.iter().filter(|e| e.contains(" 7:1 SET x=a")).count(),
        1,
        "{log:#?}"
    );
    // `nc < requests`: lines sent in one write, the last one without its newline, then the
    // client's side closed; every line is answered, in order, and then the server closes.
    let mut s = TcpStream::connect(&clients[leader]).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"SET p=1\r\nGET p\n\n\xff\xfe\nDEL p\nSTATE\nGET p")
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answers = String::new();
    std::io::Read::read_to_string(&mut s, &mut answers).unwrap();
    let answers: Vec<&str> = answers.lines().collect();
    assert_eq!(answers.len(), 6, "{answers:?}");
    assert_eq!(answers[..2], ["OK", "1"], "{answers:?}");
    assert!(answers[2].starts_with("ERR"), "{answers:?}");
    assert_eq!(answers[3], "OK", "{answers:?}");
    assert!(answers[4].starts_with("STATE id="), "{answers:?}");
    assert_eq!(answers[5], "NOT_FOUND", "{answers:?}");
}

#[test]
fn the_client_command_follows_redirects() {
    let cluster = Cluster::start(3, "cli-client");
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).unwrap();
    let clients = cluster.clients();
    // The follower first: the client must follow its redirect.
    let mut order = vec![clients[(leader + 1) % 3].clone()];
    order.push(clients[leader].clone());
    let servers = order.join(",");
    let out = refraft(&[
        "client",
        "--servers",
        &servers,
        "SET",
        "greeting=hello world",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OK\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_refraft"))
        .args(["client", "--servers", &servers])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"GET greeting\nDEL greeting\nGET greeting\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello world\nOK\nNOT_FOUND\n"
    );
}

#[test]
fn malformed_peer_frames_are_dropped_with_a_log_line() {
    use refraft_server::transport::frame::write_frame;
    use refraft_server::transport::wire::Frame;
    let cluster = Cluster::start(3, "cli-frames");
    cluster.wait_for_leader(Duration::from_secs(10)).unwrap();
    let target = cluster.peer_addrs[0];
    // A stranger's Hello is refused.
    let mut s = TcpStream::connect(target).unwrap();
    let hello = Frame::Hello {
        from: refraft::NodeId(99),
        client_addr: String::new(),
    };
    write_frame(&mut s, &hello.encode()).unwrap();
    // A member's Hello, then garbage in a well-formed frame, then an oversized length.
    let mut s = TcpStream::connect(target).unwrap();
    let hello = Frame::Hello {
        from: refraft::NodeId(2),
        client_addr: cluster.clients()[1].clone(),
    };
    write_frame(&mut s, &hello.encode()).unwrap();
    write_frame(&mut s, &[0xde, 0xad, 0xbe, 0xef, 0xff, 0xff]).unwrap();
    s.write_all(&u32::MAX.to_le_bytes()).unwrap();
    s.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let log = loop {
        let log = std::fs::read_to_string(cluster.log_file(0)).unwrap();
        if log.contains("malformed frame dropped") && log.contains("oversized frame")
            || Instant::now() > deadline
        {
            break log;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        log.contains("does not start with a Hello from a member"),
        "{log}"
    );
    assert!(log.contains("malformed frame dropped"), "{log}");
    assert!(log.contains("oversized frame; connection closed"), "{log}");
    // The server is still a working member.
    let mut client = refraft_server::client::Client::new(cluster.clients(), Duration::from_secs(5));
    assert!(client
        .execute(&"SET after=garbage".parse().unwrap())
        .is_ok());
    assert!(cluster.state(0).is_some());
}

/// Kills the `cluster` process and the servers it started, even when the test fails.
struct ClusterCommand(Child, Vec<u32>);

impl Drop for ClusterCommand {
    fn drop(&mut self) {
        for pid in &self.1 {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn one_command_starts_a_local_three_node_cluster() {
    // A base port whose six ports can all be reserved (below the kernel's ephemeral range, so
    // the sequence is not broken by outgoing connections), tried from a per-process offset.
    let start = std::process::id() % 1000;
    let base = (0..1000)
        .map(|k| 20_000 + ((start + k) % 1000) as u16 * 12)
        .find(|&b| {
            [1, 2, 3, 101, 102, 103]
                .iter()
                .all(|o| support::ports::reserve(b + o).is_some())
        })
        .expect("six free ports");
    let scratch = TempDir::new("cli-cluster");
    let child = Command::new(env!("CARGO_BIN_EXE_refraft"))
        .args(["cluster", "--base-port", &base.to_string(), "--dir"])
        .arg(scratch.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut guard = ClusterCommand(child, Vec::new());
    let mut out = BufReader::new(guard.0.stdout.take().unwrap());
    for _ in 0..3 {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let pid = line
            .split("pid ")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .unwrap();
        guard.1.push(pid.trim().parse().unwrap());
    }
    let servers = (101..=103)
        .map(|o| format!("127.0.0.1:{}", base + o))
        .collect::<Vec<_>>();
    let mut client = refraft_server::client::Client::new(servers, Duration::from_secs(10));
    assert!(client.execute(&"SET x=1".parse().unwrap()).is_ok());
    assert_eq!(
        client.execute(&"GET x".parse().unwrap()),
        Ok(refraft_server::client::Outcome::Value(Some("1".into())))
    );
    for n in 1..=3 {
        assert!(scratch
            .path()
            .join(format!("n{n}/wal/00000001.wal"))
            .exists());
    }
    // kill -9 of a server: the cluster command restarts it, and the value is still there.
    let victim = guard.1[0];
    Command::new("kill")
        .args(["-9", &victim.to_string()])
        .status()
        .unwrap();
    // The next lines: the `try:` hint, then the restarted server's pid.
    let line = (0..5)
        .map(|_| {
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            line
        })
        .find(|l| l.starts_with("server 1: pid ") || l.is_empty())
        .unwrap_or_default();
    assert!(line.starts_with("server 1: pid "), "{line}");
    let pid = line
        .split("pid ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap();
    guard.1.push(pid.trim().parse().unwrap());
    assert_eq!(
        client.execute(&"GET x".parse().unwrap()),
        Ok(refraft_server::client::Outcome::Value(Some("1".into())))
    );
    let restarted = (101..=103)
        .map(|o| format!("127.0.0.1:{}", base + o))
        .collect::<Vec<_>>();
    let mut only_first =
        refraft_server::client::Client::new(vec![restarted[0].clone()], Duration::from_secs(10));
    assert!(
        only_first.execute(&"GET x".parse().unwrap()).is_ok(),
        "the restarted server answers (value or redirect followed)"
    );
    // Killing the cluster command itself takes its servers down too (their stdin closes).
    let _ = guard.0.kill();
    let _ = guard.0.wait();
    let gone = |pid: &u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
            stat.split(") ").nth(1).is_some_and(|r| r.starts_with('Z'))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !guard.1.iter().all(gone) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        guard.1.iter().all(gone),
        "servers outlived the cluster command"
    );
}

#[test]
fn a_server_started_with_exit_on_stdin_eof_stops_when_its_parent_closes_the_pipe() {
    let scratch = TempDir::new("cli-stdin");
    let data = scratch.path().join("d");
    let mut args = serve_args(data.to_str().unwrap(), &free_addr().to_string());
    args.push("--exit-on-stdin-eof".into());
    let mut child = Command::new(env!("CARGO_BIN_EXE_refraft"))
        .args(&args)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server runs while its stdin is open"
    );
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(5);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = child.try_wait().unwrap();
    let _ = child.kill();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "the server did not exit"
    );
}

#[test]
fn a_full_disk_stops_the_server_with_a_storage_error() {
    // A one-server cluster elects itself at its first timeout and must then persist its term;
    // its hard-state file goes through a temporary file that is /dev/full.
    let scratch = TempDir::new("cli-full");
    let data = scratch.path().join("d");
    std::fs::create_dir_all(&data).unwrap();
    std::os::unix::fs::symlink("/dev/full", data.join("hard_state.tmp")).unwrap();
    let started = Instant::now();
    let out = run_serve(&serve_args(
        data.to_str().unwrap(),
        &free_addr().to_string(),
    ));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "storage: disk full: write {}",
            data.join("hard_state.tmp").display()
        )),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
