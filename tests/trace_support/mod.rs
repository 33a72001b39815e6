//! What the trace tests share: NDJSON round trips, traced simulator runs, and a builder of
//! hand-made traces (three servers) with their messages and effects.
#![allow(dead_code)] // each test crate uses a part

use refraft::sim::{churn, NetworkConfig, SimConfig, Simulation};
use refraft::trace::{
    Header, Kind, Msg, Report, StateView, Step, StepEffect, StepInput, TraceRole, TraceRule,
    Validator,
};

/// Writes the trace as NDJSON, reads it back line by line, and validates it.
pub fn validate_ndjson(header: &Header, steps: &[Step]) -> Report {
    let mut text = serde_json::to_string(header).unwrap();
    for step in steps {
        text.push('\n');
        text.push_str(&serde_json::to_string(step).unwrap());
    }
    let mut lines = text.lines();
    let header: Header = serde_json::from_str(lines.next().unwrap()).unwrap();
    let mut validator = Validator::new(&header).unwrap();
    for (i, line) in lines.enumerate() {
        let step: Step = serde_json::from_str(line).unwrap();
        validator.check(i + 2, &step).unwrap();
    }
    validator.finish()
}

/// Leaders crash or are cut off right after taking entries, servers restart, the network
/// loses, duplicates and reorders (the 6.824 Figure 8 pattern), traced.
pub fn chaos(seed: u64, unreliable: bool, iterations: u64) -> (Header, Vec<Step>, Simulation) {
    chaos_with(SimConfig::new(5, seed), unreliable, iterations)
}

/// [`chaos`] from `config`; a safety violation the simulator reports ends the run early (the
/// trace up to it is returned).
pub fn chaos_with(
    config: SimConfig,
    unreliable: bool,
    iterations: u64,
) -> (Header, Vec<Step>, Simulation) {
    let network = if unreliable {
        NetworkConfig::unreliable()
    } else {
        NetworkConfig::reliable()
    };
    let seed = config.seed;
    let mut sim = Simulation::new(config.network(network).traced());
    let _ = churn(&mut sim, seed, iterations, unreliable);
    let (header, steps) = sim.take_trace();
    (header, steps, sim)
}

// ----- hand-made traces -----

pub fn state(term: u64, vote: Option<u64>, role: TraceRole, log: &[(u64, u64)]) -> StateView {
    StateView {
        term,
        vote,
        role,
        log: log.to_vec(),
        log_from: 1,
        commit: 0,
        applied: 0,
        next: Default::default(),
        r#match: Default::default(),
    }
}

pub struct Trace {
    pub steps: Vec<Step>,
}

impl Trace {
    /// Three servers, each started empty.
    pub fn new() -> Self {
        let mut t = Trace { steps: Vec::new() };
        for n in 1..=3 {
            t.push(
                n,
                Kind::Init,
                StepInput::default(),
                vec![],
                state(0, None, TraceRole::Follower, &[]),
            );
        }
        t
    }

    /// Adds a step; returns its line number (the header is line 1).
    pub fn push(
        &mut self,
        node: u64,
        kind: Kind,
        input: StepInput,
        effects: Vec<StepEffect>,
        state: StateView,
    ) -> usize {
        self.steps.push(Step {
            seq: self.steps.len() as u64 + 1,
            node,
            kind,
            input,
            effects,
            state,
        });
        self.steps.len() + 1
    }

    /// Server `c` becomes leader of `term` (votes persisted, granted by `voter`) with its
    /// no-op appended and persisted; returns the line of the leader step.
    pub fn elect(&mut self, c: u64, voter: u64, term: u64, log: &[(u64, u64)]) -> usize {
        let hard = |vote| StepEffect::PersistHardState {
            term,
            vote: Some(vote),
        };
        let rv = Msg::RequestVote {
            term,
            last_log_index: 0,
            last_log_term: 0,
            pre_vote: false,
        };
        self.push(
            c,
            Kind::Timeout,
            timer("election"),
            vec![hard(c), send(voter, rv.clone())],
            state(term, Some(c), TraceRole::Candidate, &[]),
        );
        self.push(
            voter,
            Kind::Receive,
            receive(c, rv),
            vec![hard(c), send(c, granted(term))],
            state(term, Some(c), TraceRole::Follower, &[]),
        );
        let mut leader = state(term, Some(c), TraceRole::Leader, log);
        leader.next = [(voter, 1)].into_iter().collect();
        let persist = StepEffect::PersistLog {
            from: 1,
            entries: terms(log),
        };
        self.push(
            c,
            Kind::Receive,
            receive(voter, granted(term)),
            vec![persist],
            leader,
        )
    }

    pub fn report(&self) -> Report {
        validate_ndjson(&Header::new(vec![1, 2, 3]), &self.steps)
    }
}

pub fn terms(log: &[(u64, u64)]) -> Vec<u64> {
    log.iter()
        .flat_map(|&(t, n)| std::iter::repeat(t).take(n as usize))
        .collect()
}

pub fn timer(name: &str) -> StepInput {
    StepInput {
        timer: Some(name.into()),
        ..Default::default()
    }
}

pub fn receive(from: u64, msg: Msg) -> StepInput {
    StepInput {
        from: Some(from),
        msg: Some(msg),
        ..Default::default()
    }
}

pub fn send(to: u64, msg: Msg) -> StepEffect {
    StepEffect::Send { to, id: None, msg }
}

pub fn granted(term: u64) -> Msg {
    Msg::RequestVoteResponse {
        term,
        granted: true,
        pre_vote: false,
    }
}

pub fn ack(term: u64, m: u64) -> Msg {
    Msg::AppendEntriesResponse {
        term,
        success: true,
        match_index: Some(m),
        reject_index: None,
    }
}

pub fn append(term: u64, prev: (u64, u64), entries: &[u64], leader_commit: u64) -> Msg {
    Msg::AppendEntries {
        term,
        prev_log_index: prev.0,
        prev_log_term: prev.1,
        entries: entries.to_vec(),
        digests: vec![],
        leader_commit,
    }
}

/// Asserts `rule` is reported, first at `line`.
pub fn rejects(trace: &Trace, rule: TraceRule, line: usize) {
    let report = trace.report();
    let v = report
        .first(rule)
        .unwrap_or_else(|| panic!("{rule} not reported; got {:?}", report.violations));
    assert_eq!(v.line, line, "{v}");
    assert!(v.to_string().contains(rule.name()) && v.to_string().contains(rule.section()));
}

/// Server 1 leads term 1 with its no-op (index 1) replicated on 2, committed and applied.
pub fn committed_leader() -> Trace {
    let mut t = Trace::new();
    t.elect(1, 2, 1, &[(1, 1)]);
    let mut s = state(1, Some(1), TraceRole::Follower, &[(1, 1)]);
    s.commit = 0;
    t.push(
        2,
        Kind::Receive,
        receive(1, append(1, (0, 0), &[1], 0)),
        vec![
            StepEffect::PersistLog {
                from: 1,
                entries: vec![1],
            },
            send(1, ack(1, 1)),
        ],
        s,
    );
    let mut l = state(1, Some(1), TraceRole::Leader, &[(1, 1)]);
    l.commit = 1;
    l.applied = 1;
    l.next = [(2, 2)].into_iter().collect();
    l.r#match = [(2, 1)].into_iter().collect();
    t.push(
        1,
        Kind::Receive,
        receive(2, ack(1, 1)),
        vec![StepEffect::Apply {
            index: 1,
            term: 1,
            digest: None,
        }],
        l,
    );
    t
}

/// Server 1's state as the leader of [`committed_leader`].
pub fn leading(commit: u64, applied: u64) -> StateView {
    let mut l = state(1, Some(1), TraceRole::Leader, &[(1, 1)]);
    l.commit = commit;
    l.applied = applied;
    l.next = [(2, 2)].into_iter().collect();
    l.r#match = [(2, 1)].into_iter().collect();
    l
}
