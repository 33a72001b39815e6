//! The web explorer serves the model: its status, the initial state, and a path to a discovery.

use refraft_model::{RaftModel, Settings};
use stateright::Model;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn get(addr: &str, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

#[test]
fn explorer_serves_states_and_a_path_to_a_leader() {
    // A fixed port: stateright never reports the port it bound when given port 0.
    let addr = "127.0.0.1:38517";
    let settings = Settings {
        servers: 3,
        clients: 0,
        max_term: 1,
        max_crashes: 0,
        ..Settings::default()
    };
    std::thread::spawn(move || {
        RaftModel::new(settings).unwrap().checker().serve(addr);
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(r) = get(addr, "/.status") {
            break r;
        }
        assert!(Instant::now() < deadline, "the explorer did not come up");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.contains(" 200 "), "{status}");
    assert!(
        status.contains("\"election safety\""),
        "status names the properties: {status}"
    );

    let init = get(addr, "/.states").unwrap();
    assert!(
        init.contains("server"),
        "the initial state is rendered: {init}"
    );

    // Server 0 times out, and servers 1 and 2 vote for it: follow the path by action index,
    // the way the explorer's links do, looking each action up by its description.
    let mut path = String::from("/.states/0");
    for (starts, ends) in [
        ("n0 timeout Server(Election)", ""),
        ("n0 → n1 RV t1", ""),
        ("n1 → n0 RV-ack t1 granted", ""),
    ] {
        let page = get(addr, &path).unwrap();
        let body = &page[page.find("\r\n\r\n").unwrap() + 4..];
        let steps: serde_json::Value = serde_json::from_str(body).expect("a JSON list of steps");
        let index = steps
            .as_array()
            .unwrap()
            .iter()
            .position(|s| {
                s["action"]
                    .as_str()
                    .is_some_and(|a| a.starts_with(starts) && a.ends_with(ends))
            })
            .unwrap_or_else(|| panic!("no action {starts:?}..{ends:?} at {path}"));
        path = format!("{path}/{index}");
    }
    let last = get(addr, &path).unwrap();
    assert!(
        last.contains("Leader"),
        "after two votes server 0 leads: {last}"
    );
    assert!(
        last.contains("<svg"),
        "the path is drawn as a sequence diagram"
    );
}
