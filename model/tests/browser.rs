//! What a person sees, in a real browser (headless Chromium): the explorer opened at the URL
//! that `check` prints for a violation, and the HTML report of a counterexample. Screenshots go
//! to `target/ci-artifacts/`.
//!
//! Without a `chromium` on the PATH the tests say so and pass, unless `REFRAFT_REQUIRE_CHROMIUM`
//! is set (CI sets it, after installing Debian's `chromium`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

mod support;
use support::bin::{BIN, VOTE_ONCE};

fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("REFRAFT_REQUIRE_CHROMIUM").is_none(),
            "REFRAFT_REQUIRE_CHROMIUM is set but no chromium is installed"
        );
        eprintln!("no chromium on the PATH: browser test skipped");
    }
    found
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .join("ci-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs headless Chromium on `url` with `mode` (`--dump-dom` or `--screenshot=FILE`) after the
/// page's scripts have had ten seconds of virtual time; returns standard output.
fn browse(chromium: &str, url: &str, mode: &str) -> String {
    // A fresh profile per run: concurrent runs must not share one.
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let profile = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "chromium-profile-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&profile);
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1400,1100",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(mode)
        .arg(url)
        .stderr(Stdio::null())
        .output()
        .expect("chromium runs");
    assert!(out.status.success(), "chromium failed on {url}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn screenshot(chromium: &str, url: &str, name: &str) {
    let file = artifacts().join(name);
    let _ = std::fs::remove_file(&file);
    browse(chromium, url, &format!("--screenshot={}", file.display()));
    assert!(
        std::fs::metadata(&file).is_ok_and(|m| m.len() > 10_000),
        "screenshot {} written",
        file.display()
    );
    println!("screenshot: {}", file.display());
}

/// The explorer process, stopped when the test ends.
struct Explorer(Child);

impl Drop for Explorer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_ok(addr: &str, path: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut response = String::new();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").is_ok()
        && stream.read_to_string(&mut response).is_ok()
        && response.contains(" 200 ")
}

#[test]
fn the_explorer_names_the_violated_property_at_the_violating_state() {
    let Some(chromium) = chromium() else { return };
    // The command and URL that `check` prints for the violation.
    let out = Command::new(BIN)
        .arg("check")
        .args(VOTE_ONCE)
        .args(["--bfs", "--first-violation"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let section = &stdout[stdout
        .find("Discovered \"election safety\" counterexample")
        .expect("a violation")..];
    let line = section
        .lines()
        .find(|l| l.trim_start().starts_with("explore: "))
        .unwrap();
    let (command, url) = line
        .trim_start()
        .trim_start_matches("explore: ")
        .split_once("   then open ")
        .unwrap();
    let flags: Vec<&str> = command.split_whitespace().skip(2).collect();

    // Serve it on a free loopback port.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let _explorer = Explorer(
        Command::new(BIN)
            .arg("explore")
            .args(&flags)
            .args(["--address", &addr])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http_ok(&addr, "/.status") {
        assert!(Instant::now() < deadline, "the explorer did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    let url = url.replace("localhost:3000", &addr);

    let dom = browse(chromium, &url, "--dump-dom");
    assert!(
        dom.contains("VIOLATED at this state: election safety"),
        "the state view names the violation: {dom}"
    );
    // Two leaders of term 1, in the one-line form.
    assert!(dom.contains("n0 Leader t1 vote=n0 log=[1/1:noop]"), "{dom}");
    assert!(dom.contains("n1 Leader t1 "), "{dom}");
    // The sequence diagram's labels are the short message forms.
    assert!(dom.contains("RV-ack t1 granted"), "{dom}");
    screenshot(chromium, &url, "explorer-vote-once.png");

    // One step earlier the property still holds, and the page says so.
    let earlier = url.rsplit_once('/').unwrap().0;
    let dom = browse(chromium, earlier, "--dump-dom");
    assert!(dom.contains("Safety holds at this state"), "{dom}");
    assert!(!dom.contains("VIOLATED at this state"), "{dom}");
}

#[test]
fn the_html_report_shows_the_path_and_the_failing_step() {
    let Some(chromium) = chromium() else { return };
    let json =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/counterexamples/vote-once.json");
    let html = artifacts().join("vote-once.html");
    let out = Command::new(BIN)
        .arg("replay")
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    for external in ["http://", "https://", "<script", "<link"] {
        assert!(!page.contains(external), "self-contained: {external}");
    }
    let url = format!("file://{}", html.canonicalize().unwrap().display());
    let dom = browse(chromium, &url, "--dump-dom");
    assert!(
        dom.contains("\"election safety\" first violated at step 7"),
        "{dom}"
    );
    assert!(dom.contains("<svg"), "the space-time diagram: {dom}");
    assert!(dom.contains("class=\"message\""), "message arrows: {dom}");
    assert!(dom.contains("class=\"timeout\""), "timeouts marked: {dom}");
    assert!(
        dom.contains("class=\"violation first\" id=\"step-7\""),
        "{dom}"
    );
    assert!(dom.contains("VIOLATED: election safety"), "{dom}");
    assert!(dom.contains("n1 Leader t1 "), "one-line states: {dom}");
    screenshot(chromium, &url, "report-vote-once.png");
}

#[test]
fn the_html_report_marks_crashes_and_restarts() {
    let Some(chromium) = chromium() else { return };
    let json =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/counterexamples/persist-vote.json");
    let html = artifacts().join("persist-vote.html");
    let out = Command::new(BIN)
        .arg("replay")
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = format!("file://{}", html.canonicalize().unwrap().display());
    let dom = browse(chromium, &url, "--dump-dom");
    assert!(dom.contains("class=\"crash\""), "a crash is marked: {dom}");
    assert!(
        dom.contains("class=\"restart\""),
        "a restart is marked: {dom}"
    );
    assert!(dom.contains("DOWN n"), "a down server's line: {dom}");
    screenshot(chromium, &url, "report-persist-vote.png");
}
