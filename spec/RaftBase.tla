------------------------------ MODULE RaftBase ------------------------------
(* The constants, variables, state, log helpers and messages of Raft.tla     *)
(* (see there for the shape of the spec).                                     *)
EXTENDS Integers, Sequences, FiniteSets

CONSTANTS
    Server,             \* the cluster members (NodeId)
    Nil,                \* "no server" (voted_for = None)
    MaxTerm,            \* bound: no election timeout fires once currentTerm = MaxTerm
    MaxClientRequests,  \* bound: client requests accepted by leaders, in all
    MaxRestarts,        \* bound: crashes and restarts, in all
    MaxBatch,           \* Config::max_entries_per_append
    BrokenRule,         \* "None", or one rule switched off (Config::with_broken_rule)
    Duplication,        \* TRUE: a delivered message stays in the network (may come again)
    PreVote,            \* Config::pre_vote (diss. §9.6)
    CheckQuorum,        \* Config::check_quorum: CheckQuorum and stickiness (diss. §6.2, §4.2.3)
    ReadMode,           \* Config::read_mode: "ReadIndex" or "Lease" (diss. §6.4, §6.4.1)
    MaxReads,           \* bound: reads accepted by leaders, in all
    MaxInFlight,        \* Config::max_in_flight_appends; 0: Figure 2's leader (no pipelining)
    MaxRetries,         \* bound: client retries (same client, same serial) reaching leaders, in all
    RejectHint,         \* Config::reject_hint (§5.3): what a rejection hints, "ConflictTerm"
                        \* (the end of §5.3, the default) or "CommitIndex" (commit index + 1)
    EchoVoteTerm        \* Config::vote_grant_echoes_term: a granted vote carries the request's
                        \* term, not the voter's (etcd-io/raft's MsgVote; FALSE by default)

ASSUME MaxTerm \in Nat /\ MaxClientRequests \in Nat /\ MaxRestarts \in Nat
ASSUME MaxBatch \in Nat \ {0} /\ Duplication \in BOOLEAN
ASSUME PreVote \in BOOLEAN /\ CheckQuorum \in BOOLEAN /\ MaxReads \in Nat /\ MaxInFlight \in Nat
ASSUME MaxRetries \in Nat
ASSUME RejectHint \in {"ConflictTerm", "CommitIndex"} /\ EchoVoteTerm \in BOOLEAN
\* Config::validate: lease reads need CheckQuorum and stickiness (ConfigError::LeaseNeedsCheckQuorum).
ASSUME ReadMode \in {"ReadIndex", "Lease"} /\ (ReadMode = "Lease" => CheckQuorum)

\* The rules that src/config.rs's `Rule` can switch off (feature `rule-switches`), and the
\* further rules of Figure 2 that this spec can switch off (spec/README.md, "Broken rules").
Rules == {"PersistVote", "VoteOncePerTerm", "ElectionRestriction",
          "CurrentTermCommit", "TruncateOnlyOnConflict", "CommitMinLastNew",
          "PrevLogTerm", "UpToDateOrder", "StaleTermVote", "StaleTermAppend",
          "CurrentTermVotes", "MatchIndexFromAck", "AdoptResponseTerm",
          \* the dissertation's features (src/config.rs Rule, same names)
          "PreVoteKeepsTerm", "CheckQuorum", "LeaseNeedsStickiness", "ReadIndexQuorumRound",
          "ReadAfterOwnTermCommit", "ProbeOnReject", "NextIndexBound",
          \* the persistence boundary and the client rules (src/config.rs Rule, same names)
          "PersistTerm", "PersistEntries", "ApplyOnlyCommitted", "ReplyAfterApply", "ApplyOnce"}
ASSUME BrokenRule \in Rules \cup {"None"}

Keeps(rule) == BrokenRule # rule

VARIABLES
    node,       \* node[i]: the state of server i (see NodeState)
    messages,   \* every message ever sent
    requests,   \* client requests accepted so far (also the value of the next command)
    restarts,   \* restarts so far (a bound of the model, not state of the protocol)
    elections,  \* ghost: [term, leader] of every election won
    committed,  \* ghost: [index, entry, term] of every entry committed, first time only
    readsIssued, \* reads accepted so far (also the id of the last one)
    readLog,    \* ghost: [id, floor, index, path, term] of every read served
    replied,    \* ghost: the client commands a leader has answered (Effect::Reply)
    retries     \* client retries that reached a leader so far (a bound of the model)

vars == <<node, messages, requests, restarts, elections, committed, readsIssued, readLog,
          replied, retries>>

-----------------------------------------------------------------------------
(* Helpers *)

Min(a, b) == IF a < b THEN a ELSE b
Max(a, b) == IF a > b THEN a ELSE b
SetMax(S) == CHOOSE x \in S : \A y \in S : y <= x
SetMin(S) == CHOOSE x \in S : \A y \in S : x <= y

Follower == "Follower"
Candidate == "Candidate"
PreCandidate == "PreCandidate"
Leader == "Leader"

\* src/quorum.rs, Config::quorum: a majority of the members.
Quorum == Cardinality(Server) \div 2 + 1
Peers(i) == Server \ {i}

\* A log entry (src/log.rs Entry): the term of the leader that created it and a value:
\* 0 for the no-op a new leader appends (Payload::Noop), k for the k-th client command.
Entry(t, v) == [term |-> t, value |-> v]

\* Log accessors of src/log.rs. None is -1 (terms are >= 0).
None == -1
LastTerm(log) == IF log = <<>> THEN 0 ELSE log[Len(log)].term
TermAt(log, k) == IF k = 0 THEN 0 ELSE IF k <= Len(log) THEN log[k].term ELSE None
FirstIndexOfTerm(log, t) ==
    LET ks == {k \in 1..Len(log) : log[k].term = t} IN IF ks = {} THEN None ELSE SetMin(ks)
LastIndexOfTerm(log, t) ==
    LET ks == {k \in 1..Len(log) : log[k].term = t} IN IF ks = {} THEN None ELSE SetMax(ks)
\* §5.4.1: a log ending in (term t1, index n1) is at least as up-to-date as one ending in
\* (t2, n2): compare last terms first, then lengths.
UpToDate(t1, n1, t2, n2) == t1 > t2 \/ (t1 = t2 /\ n1 >= n2)
LogUpToDate(a, b) == UpToDate(LastTerm(a), Len(a), LastTerm(b), Len(b))
\* Log::is_up_to_date, the voter's check. Rule UpToDateOrder switched off compares lengths
\* first, then last terms (a longer log of older terms wins).
IsUpToDate(log, lastLogIndex, lastLogTerm) ==
    IF Keeps("UpToDateOrder") THEN UpToDate(lastLogTerm, lastLogIndex, LastTerm(log), Len(log))
    ELSE UpToDate(lastLogIndex, lastLogTerm, Len(log), LastTerm(log))
IsPrefix(s, t) == Len(s) <= Len(t) /\ s = SubSeq(t, 1, Len(s))

Zero == [j \in Server |-> 0]
Probe == "Probe"
ReplicateFlow == "Replicate"

\* The state a server (re)starts in: Node::new with its durable state (DurableState: term,
\* vote, log). `durableTerm`, `durableVote` and `durableLog` are what a restart reads back;
\* each differs from its volatile twin only while its persistence rule (PersistTerm,
\* PersistVote, PersistEntries) is switched off. `appliedLog` is what the state machine
\* applied, in order (last_applied = its length; a restart applies again from index 1);
\* with ApplyOnlyCommitted kept it is the log's committed prefix. Besides Figure 2:
\*  - leader: the leader a follower heard from in its term (Role::Follower { leader }); kept
\*    only with CheckQuorum, where stickiness reads it (otherwise always Nil);
\*  - flow, inflight: a leader's flow control per peer (src/progress.rs Progress::flow,
\*    in_flight as <<[prev, last], ...>>); constant unless MaxInFlight > 0;
\*  - round, acked, checkRound, leased, lease: the leader's heartbeat rounds, the quorum
\*    check and its lease (src/leadership.rs Leadership);
\*  - reads: the reads waiting at a leader (src/read.rs PendingRead: index None until set,
\*    round 0 until sent, path "None" until confirmed; floor is ghost).
\* Every one is constant when its feature is off, so it adds no states there.
Restarted(term, vote, log) ==
    [term |-> term, votedFor |-> vote, durableTerm |-> term, durableVote |-> vote,
     durableLog |-> log, appliedLog |-> <<>>, role |-> Follower,
     votes |-> {}, next |-> Zero, match |-> Zero, commit |-> 0, log |-> log,
     leader |-> Nil, flow |-> [j \in Server |-> Probe], inflight |-> [j \in Server |-> <<>>],
     round |-> 0, acked |-> Zero, checkRound |-> 0, leased |-> FALSE, lease |-> {},
     reads |-> {}]

-----------------------------------------------------------------------------
(* Messages (src/message.rs). Sender and receiver travel beside the body. *)

RequestVoteMsg(i, j, s) ==
    [mtype |-> "RequestVote", mterm |-> s.term, msrc |-> i, mdest |-> j,
     mlastLogIndex |-> Len(s.log), mlastLogTerm |-> LastTerm(s.log)]

VoteMsg(i, j, term, granted) ==
    [mtype |-> "RequestVoteResponse", mterm |-> term, msrc |-> i, mdest |-> j,
     mgranted |-> granted]

\* Node::send_append_entries: from peer j's nextIndex on, at most MaxBatch entries.
AppendMsg(i, j, s) ==
    LET prev == Min(Max(s.next[j] - 1, 0), Len(s.log))
    IN [mtype |-> "AppendEntries", mterm |-> s.term, msrc |-> i, mdest |-> j,
        mprevLogIndex |-> prev, mprevLogTerm |-> TermAt(s.log, prev),
        mentries |-> SubSeq(s.log, prev + 1, Min(Len(s.log), prev + MaxBatch)),
        mcommit |-> s.commit]

\* AppendResult::Success { match_index }.
SuccessMsg(i, j, term, matchIndex) ==
    [mtype |-> "AppendEntriesResponse", mterm |-> term, msrc |-> i, mdest |-> j,
     msuccess |-> TRUE, mmatchIndex |-> matchIndex]

\* AppendResult::Reject { prev_log_index, hint }. A ConflictHint is a record
\* [term, index], its term None when the follower's log is too short; hint = Nil: no hint.
RejectMsg(i, j, term, prev, hint) ==
    [mtype |-> "AppendEntriesResponse", mterm |-> term, msrc |-> i, mdest |-> j,
     msuccess |-> FALSE, mprevLogIndex |-> prev, mhint |-> hint]

Broadcast(i, s) == {AppendMsg(i, j, s) : j \in Peers(i)}

\* PreVote (src/message.rs Message::PreVote): the term the sender would stand in.
PreVoteMsg(i, j, s) ==
    [mtype |-> "PreVote", mterm |-> s.term + 1, msrc |-> i, mdest |-> j,
     mlastLogIndex |-> Len(s.log), mlastLogTerm |-> LastTerm(s.log)]

PreVoteResponseMsg(i, j, term, granted) ==
    [mtype |-> "PreVoteResponse", mterm |-> term, msrc |-> i, mdest |-> j,
     mgranted |-> granted]

\* Message::Heartbeat and HeartbeatResponse: numbered rounds (src/leadership.rs).
HeartbeatMsg(i, j, term, round) ==
    [mtype |-> "Heartbeat", mterm |-> term, msrc |-> i, mdest |-> j, mround |-> round]

HeartbeatResponseMsg(i, j, term, round) ==
    [mtype |-> "HeartbeatResponse", mterm |-> term, msrc |-> i, mdest |-> j, mround |-> round]
=============================================================================
