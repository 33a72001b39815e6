//! `refraft serve --config FILE`, run as people run it: a good file starts a working server, a
//! bad one stops it with one line naming the file and the key (exit 1, no panic).

mod support;

use refraft_server::client::{Client, Outcome};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::cluster::free_addr;
use support::tempdir::TempDir;

fn good_file(dir: &TempDir) -> (String, String) {
    let (peer, client) = (free_addr(), free_addr());
    let data = dir.path().join("n1");
    let text = format!(
        "id = 1\ndata = {:?}\nclient = \"{client}\"\nheartbeat_ms = 20\nelection_ms = \"60-120\"\n\n[peers]\n1 = \"{peer}\"\n",
        data.display().to_string()
    );
    (text, client.to_string())
}

#[test]
fn a_good_config_file_starts_a_working_server() {
    let dir = TempDir::new("config-good");
    let (text, client) = good_file(&dir);
    let path = dir.path().join("n1.toml");
    std::fs::write(&path, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_refraft"))
        .args(["serve", "--exit-on-stdin-eof", "--config"])
        .arg(&path)
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut c = Client::new(vec![client], Duration::from_secs(10));
    let set = c.execute(&"SET x=1".parse().unwrap());
    let get = c.execute(&"GET x".parse().unwrap());
    let _ = child.kill();
    let _ = child.wait();
    assert!(matches!(set, Ok(Outcome::Done)), "{set:?}");
    assert!(
        matches!(&get, Ok(Outcome::Value(Some(v))) if v == "1"),
        "{get:?}"
    );
}

#[test]
fn bad_config_files_stop_the_server_with_one_line_naming_the_key() {
    let dir = TempDir::new("config-bad");
    let (good, _) = good_file(&dir);
    let cases = [
        (good.replace("id = 1\n", ""), "missing key `id`"),
        (
            good.replace("heartbeat_ms", "heartbeat"),
            "unknown key `heartbeat`",
        ),
        (
            good.replace("\"60-120\"", "\"120-60\""),
            "bad value for `election_ms`",
        ),
        (
            good.replace("id = 1", "id = \"one\""),
            "bad value for `id`: want an integer",
        ),
        ("id = = 1\n".to_string(), "is not valid TOML"),
    ];
    for (k, (text, want)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{k}.toml"));
        std::fs::write(&path, text).unwrap();
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_refraft"))
            .args(["serve", "--config"])
            .arg(&path)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{want}: {stderr}");
        assert!(stderr.contains(want), "want {want:?}, got: {stderr}");
        assert!(stderr.contains(&*path.to_string_lossy()), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    // A file that cannot be read, and a file together with a setting on the command line.
    let out = Command::new(env!("CARGO_BIN_EXE_refraft"))
        .args(["serve", "--config"])
        .arg(dir.path().join("absent.toml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot read config file"), "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_refraft"))
        .args(["serve", "--config", "x.toml", "--id", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}
