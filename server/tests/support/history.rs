//! A client load of SET/GET/DEL on a few keys, with every invocation and response recorded in
//! real-time order, and the checks on the recorded history: linearizable per key (stateright's
//! `LinearizabilityTester` with a register per key, `DEL` writing "absent"), and every
//! acknowledged write present in the committed log.

use refraft::KvCommand;
use refraft_server::client::{Client, ClientError, Outcome};
use stateright::semantics::register::{Register, RegisterOp, RegisterRet};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Value = Option<String>;

#[derive(Clone, Debug)]
pub enum Event {
    Invoke {
        thread: u64,
        key: String,
        op: RegisterOp<Value>,
    },
    Return {
        thread: u64,
        key: String,
        ret: RegisterRet<Value>,
    },
}

/// The history, in the order events happened (recorded under one lock).
#[derive(Default)]
pub struct History {
    pub events: Mutex<Vec<Event>>,
    /// `(session, serial)` of every acknowledged SET or DEL.
    pub acked_writes: Mutex<Vec<(u64, u64)>>,
    pub ops: AtomicU64,
    pub timeouts: AtomicU64,
}

/// A small deterministic generator (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);
static NEXT_VALUE: AtomicU64 = AtomicU64::new(1);

/// Runs one command through `client`, recording it. Returns false when the outcome is
/// unknown (the client must then start a new session: its last request stays in flight).
pub fn run_recorded(
    history: &History,
    client: &mut Client,
    thread: u64,
    key: &str,
    command: KvCommand,
) -> bool {
    let op = match &command {
        KvCommand::Set { value, .. } => RegisterOp::Write(Some(value.clone())),
        KvCommand::Delete { .. } => RegisterOp::Write(None),
        KvCommand::Get { .. } => RegisterOp::Read,
    };
    let is_write = !matches!(command, KvCommand::Get { .. });
    history.events.lock().unwrap().push(Event::Invoke {
        thread,
        key: key.to_string(),
        op,
    });
    let result = client.execute(&command);
    let ret = match result {
        Ok(Outcome::Done) => RegisterRet::WriteOk,
        Ok(Outcome::Value(v)) => RegisterRet::ReadOk(v),
        Err(ClientError::Timeout { .. }) => {
            history.timeouts.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        Err(ClientError::Rejected(reason)) => panic!("request refused: {reason}"),
    };
    let mut events = history.events.lock().unwrap();
    events.push(Event::Return {
        thread,
        key: key.to_string(),
        ret,
    });
    if is_write {
        history
            .acked_writes
            .lock()
            .unwrap()
            .push((client.session().0, client.last_serial()));
    }
    history.ops.fetch_add(1, Ordering::Relaxed);
    true
}

/// A worker: random commands on `keys` until `stop`.
pub fn worker(
    history: Arc<History>,
    servers: Vec<String>,
    keys: &'static [&'static str],
    seed: u64,
    stop: Arc<AtomicBool>,
    timeout: Duration,
) {
    let mut rng = Rng(seed | 1);
    let mut client = Client::new(servers.clone(), timeout);
    let mut thread = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
    while !stop.load(Ordering::Relaxed) {
        let key = keys[rng.below(keys.len() as u64) as usize];
        let command = match rng.below(10) {
            0..=4 => KvCommand::Set {
                key: key.into(),
                value: format!("v{}", NEXT_VALUE.fetch_add(1, Ordering::Relaxed)),
            },
            5..=7 => KvCommand::Get { key: key.into() },
            _ => KvCommand::Delete { key: key.into() },
        };
        if !run_recorded(&history, &mut client, thread, key, command) {
            client = Client::new(servers.clone(), timeout);
            thread = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A running client load: `stop` it, then `join` it.
pub struct Load {
    pub stop: Arc<AtomicBool>,
    pub threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    /// `seeds.len()` workers on `keys`, recording into `history`.
    pub fn start(
        history: &Arc<History>,
        servers: Vec<String>,
        keys: &'static [&'static str],
        seeds: Vec<u64>,
        timeout: Duration,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = seeds
            .into_iter()
            .map(|seed| {
                let (h, s, servers) = (history.clone(), stop.clone(), servers.clone());
                std::thread::spawn(move || worker(h, servers, keys, seed, s, timeout))
            })
            .collect();
        Load { stop, threads }
    }

    /// Stops the workers and waits for them.
    pub fn join(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().expect("worker");
        }
    }
}

/// Checks the history of each key; returns the number of operations checked per key.
pub fn check_linearizable(history: &History) -> BTreeMap<String, usize> {
    let events = history.events.lock().unwrap().clone();
    let mut testers: BTreeMap<String, LinearizabilityTester<u64, Register<Value>>> =
        BTreeMap::new();
    for event in &events {
        match event {
            Event::Invoke { thread, key, op } => {
                testers
                    .entry(key.clone())
                    .or_insert_with(|| LinearizabilityTester::new(Register(None)))
                    .on_invoke(*thread, op.clone())
                    .expect("a well-formed history");
            }
            Event::Return { thread, key, ret } => {
                testers
                    .get_mut(key)
                    .expect("invoked before")
                    .on_return(*thread, ret.clone())
                    .expect("a well-formed history");
            }
        }
    }
    // The search recurses once per operation: give it a deep stack.
    let verdicts: Vec<(String, usize, bool)> = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(move || {
            testers
                .into_iter()
                .map(|(key, tester)| {
                    let ok = tester.serialized_history().is_some();
                    (key, tester.len(), ok)
                })
                .collect()
        })
        .unwrap()
        .join()
        .expect("linearizability search");
    for (key, _, ok) in &verdicts {
        assert!(ok, "history of key {key} is not linearizable");
    }
    verdicts.into_iter().map(|(k, n, _)| (k, n)).collect()
}

/// Every acknowledged write's `(session, serial)` among the committed `LOG` lines.
pub fn check_acked_writes_committed(history: &History, log: &[String]) {
    let committed: BTreeSet<(u64, u64)> = log
        .iter()
        .filter_map(|line| {
            let tag = line.split_whitespace().nth(3)?;
            let (c, s) = tag.split_once(':')?;
            Some((c.parse().ok()?, s.parse().ok()?))
        })
        .collect();
    let acked = history.acked_writes.lock().unwrap();
    let lost: Vec<_> = acked.iter().filter(|w| !committed.contains(w)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged writes are not in the committed log: {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(10)]
    );
}
