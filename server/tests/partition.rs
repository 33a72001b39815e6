//! Partitions through an in-process TCP proxy between the servers: a leader cut off from the
//! majority cannot commit; after healing it steps down and its uncommitted entry is replaced;
//! with a client load recorded throughout, the history is linearizable per key, every
//! acknowledged write is committed and the servers converge.

mod support;

use refraft::KvCommand;
use refraft_server::client::{Client, Outcome};
use stateright::semantics::register::RegisterOp;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::cluster::Cluster;
use support::history::{self, Event, History, Load};
use support::proxy::ProxyNet;

const LOAD_KEYS: &[&str] = &["p", "q"];

fn wait_until<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    None
}

#[test]
fn a_partitioned_leader_cannot_commit_steps_down_after_healing_and_its_entry_is_replaced() {
    let net = ProxyNet::new(3);
    let mut cluster = Cluster::new(3, "partition", |i, j, direct| net.route(i, j, direct));
    for i in 0..3 {
        cluster.spawn(i);
    }
    let old = cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("a leader");
    let history = Arc::new(History::default());
    let load = Load::start(
        &history,
        cluster.clients(),
        LOAD_KEYS,
        vec![77, 78],
        Duration::from_secs(4),
    );
    let mut client = Client::new(cluster.clients(), Duration::from_secs(5));
    assert!(history::run_recorded(
        &history,
        &mut client,
        1_000_001,
        "x",
        "SET x=1".parse().unwrap()
    ));

    // Cut the leader off. It still believes it leads for a while.
    net.isolate(old, true);
    std::thread::sleep(Duration::from_millis(100));
    let before = cluster.state(old).expect("the old leader answers");
    let old_term = before.num("term");
    history.events.lock().unwrap().push(Event::Invoke {
        thread: 1_000_002,
        key: "x".into(),
        op: RegisterOp::Write(Some("2".into())),
    });
    let answer = cluster.ask(old, "@424242:1 SET x=2").expect("an answer")[0].clone();
    assert!(
        answer.starts_with("ERR timeout") || answer.starts_with("NOT_LEADER"),
        "a minority leader answered {answer:?}"
    );
    let during = cluster.state(old).expect("the old leader answers");
    assert_eq!(
        during.num("commit"),
        before.num("commit"),
        "the minority leader committed"
    );
    assert!(
        during.num("last") > during.num("commit"),
        "the write was appended: {during:?}"
    );
    let replaced_index = during.num("last");
    let entry = cluster
        .ask(old, &format!("LOG {replaced_index} 1"))
        .unwrap()[0]
        .clone();
    assert!(entry.contains("424242:1 SET x=2"), "{entry}");

    // The majority elects a new leader of a higher term and commits without the old one.
    let majority: Vec<usize> = (0..3).filter(|&i| i != old).collect();
    let new = wait_until(Duration::from_secs(10), || {
        majority.iter().copied().find(|&i| {
            cluster
                .state(i)
                .is_some_and(|s| s.is_leader() && s.num("term") > old_term)
        })
    })
    .expect("the majority elects a new leader");
    let servers: Vec<String> = majority
        .iter()
        .map(|&i| cluster.clients()[i].clone())
        .collect();
    let mut majority_client = Client::new(servers, Duration::from_secs(5));
    assert!(history::run_recorded(
        &history,
        &mut majority_client,
        1_000_003,
        "x",
        "SET x=3".parse().unwrap()
    ));
    let new_term = cluster.state(new).unwrap().num("term");
    assert_eq!(
        cluster.state(old).unwrap().num("commit"),
        before.num("commit"),
        "the isolated server's commit index moved"
    );

    // Heal: the old leader hears the higher term, steps down, and its entry is replaced.
    net.isolate(old, false);
    let healed = wait_until(Duration::from_secs(10), || {
        cluster.state(old).filter(|s| {
            !s.is_leader() && s.num("term") >= new_term && s.num("commit") >= replaced_index
        })
    })
    .expect("the old leader steps down and catches up");
    assert!(healed.num("term") > old_term);
    let entry = cluster
        .ask(old, &format!("LOG {replaced_index} 1"))
        .unwrap()[0]
        .clone();
    assert!(
        !entry.contains("SET x=2"),
        "the uncommitted entry survived: {entry}"
    );
    let term_there: u64 = entry.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(term_there > old_term, "{entry}");
    // The replacement is durable: after kill -9 and a restart the old entry stays gone.
    cluster.kill(old);
    cluster.spawn(old);
    let reread = wait_until(Duration::from_secs(10), || {
        cluster
            .ask(old, &format!("LOG {replaced_index} 1"))
            .filter(|l| l[0] != "END")
    })
    .expect("the restarted server answers")[0]
        .clone();
    assert_eq!(
        reread, entry,
        "the replaced entry came back after a restart"
    );

    load.join();
    let mut reader = Client::new(cluster.clients(), Duration::from_secs(5));
    for key in ["x", "p", "q"] {
        let get = KvCommand::Get { key: key.into() };
        assert!(history::run_recorded(
            &history,
            &mut reader,
            1_000_004,
            key,
            get
        ));
    }
    assert_eq!(
        reader.execute(&"GET x".parse().unwrap()),
        Ok(Outcome::Value(Some("3".into())))
    );
    let converged = cluster
        .wait_converged(Duration::from_secs(10))
        .unwrap_or_else(|s| panic!("no convergence: {s:#?}"));
    let log = cluster.committed_log(old);
    assert_eq!(log.len() as u64, converged.num("commit"));
    assert!(
        log.iter().all(|l| !l.contains("SET x=2")),
        "x=2 was committed"
    );
    history::check_acked_writes_committed(&history, &log);
    let checked = history::check_linearizable(&history);
    eprintln!("partition: per key {checked:?}");
    assert!(checked.values().sum::<usize>() >= 10, "{checked:?}");
}

#[test]
fn delayed_links_still_elect_and_commit() {
    let net = ProxyNet::new(3);
    let mut cluster = Cluster::new(3, "delay", |i, j, direct| net.route(i, j, direct));
    net.delay_all(20);
    for i in 0..3 {
        cluster.spawn(i);
    }
    cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("a leader despite the delay");
    let mut client = Client::new(cluster.clients(), Duration::from_secs(5));
    for i in 0..10 {
        let set = format!("SET d{i}={i}").parse().unwrap();
        assert_eq!(client.execute(&set), Ok(Outcome::Done));
    }
    assert_eq!(
        client.execute(&"GET d9".parse().unwrap()),
        Ok(Outcome::Value(Some("9".into())))
    );
}
