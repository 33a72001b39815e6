-------------------------------- MODULE Raft --------------------------------
(***************************************************************************)
(* The Raft protocol exactly as refraft's core (src/) runs it, written     *)
(* from the Raft paper (Ongaro & Ousterhout, 2014), Ongaro's dissertation  *)
(* and the code. spec/README.md maps every rule to its section, to the     *)
(* Rust function that implements it and to the property that guards it.   *)
(*                                                                         *)
(* Shape of the spec, mirroring the sans-IO core:                          *)
(*  - node[i] is the state of one server: the durable part of Figure 2     *)
(*    (term, votedFor, log) and the volatile part (role, votes, nextIndex, *)
(*    matchIndex, commitIndex).                                            *)
(*  - Every handler is a pure operator from (state, input) to              *)
(*    <<new state, set of messages sent>>, as Node::step is from an Input  *)
(*    to its effects. Step applies the result in one atomic action.        *)
(*  - Messages are one-way (src/message.rs). `messages` is the set of all  *)
(*    messages ever sent; delivery does not remove a message, so the       *)
(*    network may delay, reorder, duplicate and (by never delivering)      *)
(*    drop any message.                                                    *)
(*  - Persistence: a change to term, votedFor or log is durable at once    *)
(*    (the core emits the persist effect before any send). `durableVote`   *)
(*    is the votedFor a restart reads back; it differs from votedFor only  *)
(*    when the rule PersistVote is switched off.                           *)
(*  - Ghost history: `elections` (every leader ever elected) and           *)
(*    `committed` (every entry ever committed by a leader, with the term   *)
(*    of that leader) exist only for the properties.                       *)
(***************************************************************************)
EXTENDS Integers, Sequences, FiniteSets

CONSTANTS
    Server,             \* the cluster members (NodeId)
    Nil,                \* "no server" (voted_for = None)
    MaxTerm,            \* bound: no election timeout fires once currentTerm = MaxTerm
    MaxClientRequests,  \* bound: client requests accepted by leaders, in all
    MaxRestarts,        \* bound: crashes and restarts, in all
    MaxBatch,           \* Config::max_entries_per_append
    BrokenRule,         \* "None", or one rule switched off (Config::with_broken_rule)
    Duplication         \* TRUE: a delivered message stays in the network (may come again)

ASSUME MaxTerm \in Nat /\ MaxClientRequests \in Nat /\ MaxRestarts \in Nat
ASSUME MaxBatch \in Nat \ {0} /\ Duplication \in BOOLEAN

\* The rules that src/config.rs's `Rule` can switch off (feature `rule-switches`), and the
\* further rules of Figure 2 that this spec can switch off (spec/README.md, "Broken rules").
Rules == {"PersistVote", "VoteOncePerTerm", "ElectionRestriction",
          "CurrentTermCommit", "TruncateOnlyOnConflict", "CommitMinLastNew",
          "PrevLogTerm", "UpToDateOrder", "StaleTermVote", "StaleTermAppend",
          "CurrentTermVotes", "MatchIndexFromAck", "AdoptResponseTerm"}
ASSUME BrokenRule \in Rules \cup {"None"}

Keeps(rule) == BrokenRule # rule

VARIABLES
    node,       \* node[i]: the state of server i (see NodeState)
    messages,   \* every message ever sent
    requests,   \* client requests accepted so far (also the value of the next command)
    restarts,   \* restarts so far (a bound of the model, not state of the protocol)
    elections,  \* ghost: [term, leader] of every election won
    committed   \* ghost: [index, entry, term] of every entry committed, first time only

vars == <<node, messages, requests, restarts, elections, committed>>

-----------------------------------------------------------------------------
(* Helpers *)

Min(a, b) == IF a < b THEN a ELSE b
Max(a, b) == IF a > b THEN a ELSE b
SetMax(S) == CHOOSE x \in S : \A y \in S : y <= x
SetMin(S) == CHOOSE x \in S : \A y \in S : x <= y

Follower == "Follower"
Candidate == "Candidate"
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

\* The state a server (re)starts in: Node::new with its durable state.
Restarted(term, vote, log) ==
    [term |-> term, votedFor |-> vote, durableVote |-> vote, role |-> Follower,
     votes |-> {}, next |-> Zero, match |-> Zero, commit |-> 0, log |-> log]

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

-----------------------------------------------------------------------------
(* Handlers: (state, input) -> <<state, messages sent>>, as in src/. *)

\* Node::become_follower for a higher term (§5.1): adopt it, clear the vote (persisted).
AdoptTerm(s, t) ==
    [s EXCEPT !.term = t, !.votedFor = Nil, !.durableVote = Nil, !.role = Follower,
              !.votes = {}, !.next = Zero, !.match = Zero]

\* Node::commit_to: raise commitIndex, never past the log.
CommitTo(s, k) == IF k > s.commit THEN [s EXCEPT !.commit = Min(k, Len(s.log))] ELSE s

\* Node::advance_leader_commit, §5.3 and §5.4.2: the highest index stored on a majority
\* (quorum::majority_index), if it is of the current term.
AdvanceCommit(i, s) ==
    LET acked == [j \in Server |-> IF j = i THEN Len(s.log) ELSE s.match[j]]
        n == SetMax({acked[j] : j \in {k \in Server :
                        Cardinality({l \in Server : acked[l] >= acked[k]}) >= Quorum}})
    IN IF n > s.commit /\ (TermAt(s.log, n) = s.term \/ ~Keeps("CurrentTermCommit"))
       THEN CommitTo(s, n) ELSE s

\* Node::become_leader, §5.2, §8: nextIndex = last + 1, matchIndex = 0, append a no-op,
\* send AppendEntries to every peer, then try to commit.
BecomeLeader(i, s) ==
    LET s1 == [s EXCEPT !.role = Leader, !.votes = {},
                        !.next = [j \in Server |-> IF j = i THEN 0 ELSE Len(s.log) + 1],
                        !.match = Zero,
                        !.log = Append(s.log, Entry(s.term, 0))]
    IN <<AdvanceCommit(i, s1), Broadcast(i, s1)>>

\* Node::start_election, §5.2: new term, vote for self (persisted), RequestVote to all.
StartElection(i, s) ==
    LET s1 == [s EXCEPT !.term = s.term + 1, !.votedFor = i, !.durableVote = i,
                        !.role = Candidate, !.votes = {i}]
    IN IF Quorum = 1 THEN BecomeLeader(i, s1)
       ELSE <<s1, {RequestVoteMsg(i, j, s1) : j \in Peers(i)}>>

\* Node::handle_request_vote (Figure 2, RequestVote receiver; §5.2, §5.4.1).
\* Rule StaleTermVote (Figure 2, RequestVote 1) switched off: a request of a lower term is
\* judged like one of the current term (a vote granted is recorded in the current term).
HandleRequestVote(i, j, s, m) ==
    IF m.mterm < s.term /\ Keeps("StaleTermVote") THEN <<s, {VoteMsg(i, j, s.term, FALSE)}>>
    ELSE
    LET free == s.votedFor = Nil \/ s.votedFor = j \/ ~Keeps("VoteOncePerTerm")
        upToDate == IsUpToDate(s.log, m.mlastLogIndex, m.mlastLogTerm)
                    \/ ~Keeps("ElectionRestriction")
        grant == free /\ upToDate
        s1 == IF grant
              THEN [s EXCEPT !.votedFor = j,
                             !.durableVote = IF Keeps("PersistVote") THEN j ELSE @]
              ELSE s
    IN <<s1, {VoteMsg(i, j, s.term, grant)}>>

\* Node::handle_request_vote_response (§5.2): a majority of votes makes a leader.
\* Rule CurrentTermVotes (§5.2) switched off: a vote granted in an older term is counted.
HandleVote(i, j, s, m) ==
    IF (m.mterm < s.term /\ Keeps("CurrentTermVotes")) \/ s.role # Candidate \/ ~m.mgranted THEN <<s, {}>>
    ELSE
    LET s1 == [s EXCEPT !.votes = @ \cup {j}]
    IN IF Cardinality(s1.votes) >= Quorum THEN BecomeLeader(i, s1) ELSE <<s1, {}>>

\* The defensive check of handle_append_entries: a leader's entries never decrease in
\* term nor exceed its own term (never true for messages a correct leader sends).
Malformed(m) ==
    \E k \in 1..Len(m.mentries) :
        \/ m.mentries[k].term > m.mterm
        \/ m.mentries[k].term < IF k = 1 THEN m.mprevLogTerm ELSE m.mentries[k - 1].term

\* Node::handle_append_entries (Figure 2, AppendEntries receiver; §5.3).
\* Rule StaleTermAppend (Figure 2, AppendEntries 1) switched off: a request of a lower term
\* is handled like one of the current term. Rule PrevLogTerm (Figure 2, AppendEntries 2)
\* switched off: the consistency check looks at prevLogIndex only, not at its term.
HandleAppendEntries(i, j, s, m) ==
    IF m.mterm < s.term /\ Keeps("StaleTermAppend") THEN <<s, {RejectMsg(i, j, s.term, m.mprevLogIndex, Nil)}>>
    ELSE IF s.role = Leader THEN <<s, {}>>     \* StepError::SecondLeader: ignored
    ELSE
    LET s1 == [s EXCEPT !.role = Follower, !.votes = {}]  \* a candidate steps down (§5.2)
        log == s1.log
        prev == m.mprevLogIndex
        ents == m.mentries
        tp == TermAt(log, prev)
    IN
    IF Malformed(m) THEN <<s1, {}>>
    ELSE IF tp = None
    THEN <<s1, {RejectMsg(i, j, s.term, prev, [term |-> None, index |-> Len(log) + 1])}>>
    ELSE IF tp # m.mprevLogTerm /\ Keeps("PrevLogTerm")
    THEN LET fi == FirstIndexOfTerm(log, tp)
         IN <<s1, {RejectMsg(i, j, s.term, prev,
                             [term |-> tp, index |-> IF fi = None THEN prev ELSE fi])}>>
    ELSE
    LET lastNew == prev + Len(ents)
        \* 1-based position in ents of the first entry the log does not already hold
        conflicts == {k \in 1..Len(ents) : TermAt(log, prev + k) # ents[k].term}
        from == IF ~Keeps("TruncateOnlyOnConflict") THEN 1
                ELSE IF conflicts = {} THEN 0 ELSE SetMin(conflicts)
        index == prev + from
        newLog == IF from = 0 THEN log
                  ELSE SubSeq(log, 1, index - 1) \o SubSeq(ents, from, Len(ents))
        bound == IF Keeps("CommitMinLastNew") THEN lastNew ELSE Len(newLog)
    IN
    IF from # 0 /\ index <= Len(log) /\ index <= s1.commit
    THEN <<s1, {}>>                             \* StepError::ConflictsWithCommitted
    ELSE <<CommitTo([s1 EXCEPT !.log = newLog], Min(m.mcommit, bound)),
           {SuccessMsg(i, j, s.term, lastNew)}>>

\* Node::handle_append_entries_response (§5.3).
\* Rule MatchIndexFromAck (§5.3) switched off: a success sets matchIndex to the leader's
\* own last index, as if the follower held the whole log, not the acknowledged range.
HandleAppendResponse(i, j, s, m) ==
    IF m.mterm < s.term \/ s.role # Leader THEN <<s, {}>>
    ELSE IF m.msuccess
    THEN IF m.mmatchIndex > Len(s.log) THEN <<s, {}>>
         ELSE
         LET mi == IF Keeps("MatchIndexFromAck") THEN Max(s.match[j], m.mmatchIndex)
                   ELSE Len(s.log)
             s1 == [s EXCEPT !.match[j] = mi, !.next[j] = Max(s.next[j], mi + 1)]
             s2 == AdvanceCommit(i, s1)
         IN <<s2, IF s1.next[j] <= Len(s.log) THEN {AppendMsg(i, j, s2)} ELSE {}>>
    ELSE IF m.mprevLogIndex < s.match[j] \/ m.mprevLogIndex >= s.next[j]
    THEN <<s, {}>>                              \* StepError::StaleResponse
    ELSE
    LET h == m.mhint
        hinted == IF h = Nil THEN m.mprevLogIndex
                  ELSE IF h.term = None THEN h.index
                  ELSE LET last == LastIndexOfTerm(s.log, h.term)
                       IN IF last = None THEN h.index ELSE last + 1
        s1 == [s EXCEPT !.next[j] = Max(Min(hinted, m.mprevLogIndex), s.match[j] + 1)]
    IN <<s1, {AppendMsg(i, j, s1)}>>

-----------------------------------------------------------------------------
(* Actions *)

\* Apply one handler's result to server i, and keep the ghost history.
Step(i, result, delivered) ==
    LET old == node[i]
        s == result[1]
    IN /\ node' = [node EXCEPT ![i] = s]
       /\ messages' = (messages \ delivered) \cup result[2]
       /\ elections' = IF s.role = Leader /\ old.role # Leader
                       THEN elections \cup {[term |-> s.term, leader |-> i]}
                       ELSE elections
       \* A leader's commitIndex grows only by counting (AdvanceCommit).
       /\ committed' = IF s.role = Leader /\ s.commit > old.commit
                       THEN committed \cup
                            {[index |-> k, entry |-> s.log[k], term |-> s.term] :
                               k \in {k \in 1..s.commit :
                                        ~\E c \in committed : c.index = k /\ c.entry = s.log[k]}}
                       ELSE committed

\* Input::Timeout(Timer::Election) at a follower or candidate.
ElectionTimeout(i) ==
    /\ node[i].role \in {Follower, Candidate}
    /\ node[i].term < MaxTerm
    /\ Step(i, StartElection(i, node[i]), {})
    /\ UNCHANGED <<requests, restarts>>

\* Input::Timeout(Timer::Heartbeat) at a leader (§5.2).
HeartbeatTimeout(i) ==
    /\ node[i].role = Leader
    /\ Step(i, <<node[i], Broadcast(i, node[i])>>, {})
    /\ UNCHANGED <<requests, restarts>>

\* Input::ClientRequest at a leader (§5.3, §8): append, send, try to commit. (A follower
\* only redirects the client, which changes no state.)
ClientRequest(i) ==
    /\ node[i].role = Leader
    /\ requests < MaxClientRequests
    /\ requests' = requests + 1
    /\ UNCHANGED restarts
    /\ LET s1 == [node[i] EXCEPT !.log = Append(@, Entry(node[i].term, requests + 1))]
       IN Step(i, <<AdvanceCommit(i, s1), Broadcast(i, s1)>>, {})

\* Input::Message: Node::handle_message adopts a higher term first (§5.1), then dispatches.
\* Rule AdoptResponseTerm (Figure 2, All Servers) switched off: only requests, not
\* responses, make a server adopt a higher term.
IsRequest(m) == m.mtype \in {"RequestVote", "AppendEntries"}
Receive(m) ==
    LET i == m.mdest
        j == m.msrc
        s == IF m.mterm > node[i].term /\ (IsRequest(m) \/ Keeps("AdoptResponseTerm")) THEN AdoptTerm(node[i], m.mterm) ELSE node[i]
    IN /\ Step(i, CASE m.mtype = "RequestVote" -> HandleRequestVote(i, j, s, m)
                    [] m.mtype = "RequestVoteResponse" -> HandleVote(i, j, s, m)
                    [] m.mtype = "AppendEntries" -> HandleAppendEntries(i, j, s, m)
                    [] m.mtype = "AppendEntriesResponse" -> HandleAppendResponse(i, j, s, m),
                 IF Duplication THEN {} ELSE {m})
       /\ UNCHANGED <<requests, restarts>>

\* A crash and restart: Node::new from the durable state alone (Figure 2).
Restart(i) ==
    /\ restarts < MaxRestarts
    /\ restarts' = restarts + 1
    /\ node' = [node EXCEPT ![i] = Restarted(@.term, @.durableVote, @.log)]
    /\ UNCHANGED <<messages, requests, elections, committed>>

Init ==
    /\ node = [i \in Server |-> Restarted(0, Nil, <<>>)]
    /\ messages = {}
    /\ requests = 0
    /\ restarts = 0
    /\ elections = {}
    /\ committed = {}

Next ==
    \/ \E i \in Server : ElectionTimeout(i) \/ HeartbeatTimeout(i) \/ ClientRequest(i)
                         \/ Restart(i)
    \/ \E m \in messages : Receive(m)

Spec == Init /\ [][Next]_vars

-----------------------------------------------------------------------------
(* Properties: the five safety properties of the paper (Figure 3). *)

\* Election Safety: at most one leader can be elected in a given term.
ElectionSafety ==
    \A e1, e2 \in elections : e1.term = e2.term => e1.leader = e2.leader

\* Leader Append-Only: a leader never overwrites or deletes entries in its log.
LeaderAppendOnly ==
    [][\A i \in Server :
         node[i].role = Leader /\ node'[i].role = Leader => IsPrefix(node[i].log, node'[i].log)
      ]_vars

\* Log Matching: two logs with an entry of the same index and term are identical up to it.
LogMatching ==
    \A i, j \in Server :
        \A k \in 1..Min(Len(node[i].log), Len(node[j].log)) :
            node[i].log[k].term = node[j].log[k].term
                => SubSeq(node[i].log, 1, k) = SubSeq(node[j].log, 1, k)

\* Leader Completeness: an entry committed in a term is in the log of every leader of a
\* later term. Checked in every state, so also at the moment each leader is elected.
LeaderCompleteness ==
    \A i \in Server : node[i].role = Leader =>
        \A c \in committed : c.term < node[i].term =>
            c.index <= Len(node[i].log) /\ node[i].log[c.index] = c.entry

\* State Machine Safety: a server applies (commit_to applies at once) only entries that
\* were committed, and no two different entries are ever committed at the same index, so
\* no two servers ever apply different entries at one index, even across restarts.
StateMachineSafety ==
    /\ \A c1, c2 \in committed : c1.index = c2.index => c1.entry = c2.entry
    /\ \A i \in Server : \A k \in 1..node[i].commit :
           \E c \in committed : c.index = k /\ c.entry = node[i].log[k]

-----------------------------------------------------------------------------
(* Invariants of inductive strength, in the style of etcd-io/raft's and CCF's specs:  *)
(* they fail at the step that breaks a rule, before a Figure 3 property does.         *)

\* Log `log` holds the committed entry c (a record of `committed`).
Holds(log, c) == c.index <= Len(log) /\ log[c.index] = c.entry
\* The servers whose logs `log` is at least as up-to-date as (its own included).
Dominated(log) == {j \in Server : LogUpToDate(log, node[j].log)}

\* Every committed entry is held by a majority. (For an odd cluster this is etcd's "held
\* by some server of every quorum".)
QuorumLogInv ==
    \A c \in committed : Cardinality({j \in Server : Holds(node[j].log, c)}) >= Quorum

\* Any log at least as up-to-date as a majority's (a log that could win an election if
\* those servers had not voted yet) holds every committed entry. etcd states it pairwise
\* with each server's own commitIndex; stated over a majority and the ghost `committed`, it
\* fails at the commit itself: a Figure 8 commit of an entry that a server able to win the
\* next election lacks.
MoreUpToDateCorrectInv ==
    \A i \in Server :
        Cardinality(Dominated(node[i].log)) >= Quorum =>
            \A c \in committed : Holds(node[i].log, c)

\* Sanity of the state itself (not a paper property): shapes and the bounds in force.
TypeOK ==
    /\ \A i \in Server :
        /\ node[i].role \in {Follower, Candidate, Leader}
        /\ node[i].term \in 0..MaxTerm
        /\ node[i].commit \in 0..Len(node[i].log)
        /\ node[i].votedFor \in Server \cup {Nil}
        /\ node[i].role = Candidate <=> node[i].votes # {}
    /\ requests \in 0..MaxClientRequests

-----------------------------------------------------------------------------
(* Reachability: each must be VIOLATED by TLC, which shows the bounded model reaches  *)
(* the situation the safety properties are about (spec/check.sh reach).              *)

\* A client command is committed.
NoCommandCommitted == ~\E c \in committed : c.entry.value # 0
\* An entry of an earlier term is committed indirectly (Figure 8, §5.4.2).
NoIndirectCommit == ~\E c \in committed : c.entry.term < c.term
\* A leader is elected in the last term the bound allows.
NoLeaderInMaxTerm == ~\E e \in elections : e.term = MaxTerm
\* A follower's log loses an uncommitted entry it held (an overwrite, §5.3).
NoDivergentLogs == ~\E i, j \in Server : ~IsPrefix(node[i].log, node[j].log)
                                         /\ ~IsPrefix(node[j].log, node[i].log)
\* A follower rejects AppendEntries on a prevLogTerm mismatch (Figure 2, AppendEntries 2:
\* the term half of the consistency check), with a conflict-term hint.
NoPrevLogTermReject ==
    ~\E m \in messages : m.mtype = "AppendEntriesResponse" /\ ~m.msuccess
                         /\ m.mhint # Nil /\ m.mhint.term # None
\* A leader handles such a rejection and moves nextIndex by the conflict term (end of §5.3).
\* An action property: TLC reports it violated at the step a leader receives one.
ConflictTermHint(m) ==
    LET i == m.mdest IN
    /\ m.mtype = "AppendEntriesResponse" /\ ~m.msuccess /\ m.mhint # Nil
    /\ m.mhint.term # None /\ m.mterm = node[i].term /\ node[i].role = Leader
    /\ node[i].match[m.msrc] <= m.mprevLogIndex /\ m.mprevLogIndex < node[i].next[m.msrc]
NoConflictHintUsed == [][~\E m \in messages : ConflictTermHint(m) /\ Receive(m)]_vars
\* Figure 8 (c): an entry is stored on a majority while a server without it could still be
\* elected (its log is at least as up-to-date as a majority's). Counting it committed here
\* is what rule CurrentTermCommit forbids.
NoFigure8Hazard ==
    ~\E i \in Server : \E k \in 1..Len(node[i].log) :
        LET c == [index |-> k, entry |-> node[i].log[k]] IN
        /\ Cardinality({j \in Server : Holds(node[j].log, c)}) >= Quorum
        /\ \E l \in Server : ~Holds(node[l].log, c) /\ Cardinality(Dominated(node[l].log)) >= Quorum
=============================================================================
