--------------------------- MODULE RaftProperties ---------------------------
(* The properties TLC checks on Raft.tla: Figure 3 of the paper, invariants of     *)
(* inductive strength, the features' properties, and reachability predicates.     *)
EXTENDS Raft

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

\* State Machine Safety: a server applies only entries that were committed, at the index
\* they were committed at, and no two different entries are ever committed at the same
\* index, so no two servers ever apply different entries at one index, even across
\* restarts. (Its commitIndex too covers only committed entries.)
StateMachineSafety ==
    /\ \A c1, c2 \in committed : c1.index = c2.index => c1.entry = c2.entry
    /\ \A i \in Server : \A k \in 1..node[i].commit :
           \E c \in committed : c.index = k /\ c.entry = node[i].log[k]
    /\ \A i \in Server : \A k \in 1..Len(node[i].appliedLog) :
           \E c \in committed : c.index = k /\ c.entry = node[i].appliedLog[k]

-----------------------------------------------------------------------------
(* The persistence boundary and the clients (Figure 2's persistent state; §8; diss. §6.3). *)

\* What a restart reads is a state this implementation could have written
\* (DurableState::validate, which Node::new runs): the log's terms never decrease and none
\* exceeds the durable current term. Revealing a term before it is on disk breaks it: the
\* server stores entries of a term its disk does not know.
DurableStateValid ==
    \A i \in Server :
        LET d == node[i].durableLog IN
        \A k \in 1..Len(d) : d[k].term <= node[i].durableTerm /\ (k > 1 => d[k - 1].term <= d[k].term)

\* An acknowledged command is committed (§8: a leader answers only once it has applied
\* the command, and applies only committed entries).
AcknowledgedCommitted ==
    \A v \in replied : \E c \in committed : c.entry.value = v

\* Exactly once (diss. §6.3): no server's state machine applies one client command twice,
\* however often it was retried and appended.
ExactlyOnce ==
    \A i \in Server :
        LET m == Machine(node[i]) IN \A a, b \in 1..Len(m) : a < b => m[a] # m[b]

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

-----------------------------------------------------------------------------
(* Properties of the dissertation's features (RaftFeatures.tla). *)

\* Read linearizability (diss. §6.4): every read served records a read index at least the
\* index of every entry committed (by any leader, ghost `committed`) before the read was
\* issued (`floor`). The state it reads is the leader's applied prefix through that index,
\* which by StateMachineSafety holds only committed entries and, committed indexes being a
\* prefix, every entry committed before the read: it reflects every write that completed
\* before the read began.
ReadLinearizability == \A r \in readLog : r.index >= r.floor

\* PreVote changes no term (diss. §9.6): every server's term is one some candidate stood in
\* (sent RequestVote for). A server that adopts a pre-vote's term breaks it, and with it
\* disrupts the leader of that term (it will refuse the leader's requests' term).
TermOnlyFromElection ==
    \A i \in Server : node[i].term = 0 \/ \E m \in messages : m.mtype = "RequestVote" /\ m.mterm = node[i].term

\* Lease safety (diss. §6.4.1), of inductive strength for ReadLinearizability with lease
\* reads: while a leader holds a lease, no leader of a later term has been elected. (The
\* peers its lease counts are pinned by LeaseTiming and sticky, so no majority votes for
\* another server.) It fails at the election that makes a later lease read stale.
LeaseSafety ==
    ReadMode = "Lease" =>
        \A l \in Server : node[l].role = Leader /\ node[l].leased =>
            ~\E e \in elections : e.term > node[l].term

\* Flow control (Progress::check, as the stateright model checks it on every state): for
\* every leader and peer, match < next <= last + 1; at most one request in flight in Probe
\* and MaxInFlight in Replicate; in Replicate the requests in flight form one chain from
\* where the follower acknowledged to nextIndex - 1, so optimistic sends never skip or repeat
\* an entry.
FlowOK(s, j) ==
    LET f == s.inflight[j]
        n == Len(f)
        End(k) == IF k = 0 THEN s.match[j] ELSE f[k].last
    IN /\ s.match[j] < s.next[j] /\ s.next[j] <= Len(s.log) + 1
       /\ n <= IF s.flow[j] = Probe THEN 1 ELSE MaxInFlight
       /\ s.flow[j] = ReplicateFlow =>
            /\ \A k \in 1..n : /\ IF k = 1 THEN f[k].prev <= s.match[j] ELSE f[k].prev = f[k - 1].last
                               /\ f[k].last > Max(f[k].prev, s.match[j])
            /\ s.next[j] = End(n) + 1
FlowControl ==
    MaxInFlight > 0 => \A i \in Server : node[i].role = Leader => \A j \in Peers(i) : FlowOK(node[i], j)

\* Sanity of the state itself (not a paper property): shapes and the bounds in force.
TypeOK ==
    /\ \A i \in Server :
        /\ node[i].role \in {Follower, PreCandidate, Candidate, Leader}
        /\ node[i].term \in 0..MaxTerm
        /\ node[i].commit \in 0..Len(node[i].log)
        /\ node[i].votedFor \in Server \cup {Nil}
        /\ node[i].role \in {PreCandidate, Candidate} <=> node[i].votes # {}
    /\ requests \in 0..MaxClientRequests
    /\ readsIssued \in 0..MaxReads
    /\ retries \in 0..MaxRetries
    /\ replied \subseteq 1..MaxClientRequests

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

\* EchoVoteTerm (MCEchoVote.cfg): a RequestVote of a lower term reaches a voter that has not
\* voted in its own, later term and whose log does not bar the candidate, while the candidate
\* still waits in that term and another server already leads it. Rule StaleTermVote
\* (RequestVote 1) refuses it; switched off, the grant carries the request's term and counts.
NoStaleVoteHazard ==
    ~\E m \in messages :
        LET v == m.mdest IN
        /\ m.mtype = "RequestVote" /\ m.mterm < node[v].term /\ node[v].votedFor = Nil
        /\ IsUpToDate(node[v].log, m.mlastLogIndex, m.mlastLogTerm)
        /\ node[m.msrc].role = Candidate /\ node[m.msrc].term = m.mterm
        /\ \E e \in elections : e.term = m.mterm /\ e.leader # m.msrc

\* Clients: a retry reaches a leader after the first copy of its command was appended, and
\* is appended again; a server applies a log that holds one command twice (the second copy
\* is what the session table skips); a retry is answered from the session table.
NoCommandTwiceInLog ==
    ~\E i \in Server : \E a, b \in 1..Len(node[i].log) :
        a < b /\ node[i].log[a].value # 0 /\ node[i].log[a].value = node[i].log[b].value
NoCommandAppliedTwice ==
    ~\E i \in Server : \E a, b \in 1..Len(node[i].appliedLog) :
        a < b /\ node[i].appliedLog[a].value # 0
        /\ node[i].appliedLog[a].value = node[i].appliedLog[b].value
NoCachedReply == [][~\E i \in Server : ClientRetry(i) /\ node' = node]_vars

\* Features (RaftFeatures.tla): a pre-vote refused; a leader stepping down on a failed
\* quorum check (an action property); a read served, by ReadIndex and by lease; an
\* optimistic send past the acknowledged index, a full window, and a rejection sending a
\* follower that had matched back to probing.
NoPreVoteRejected == ~\E m \in messages : m.mtype = "PreVoteResponse" /\ ~m.mgranted
NoQuorumStepDown == [][~\E i \in Server : QuorumCheckTimeout(i) /\ node'[i].role = Follower]_vars
NoReadServed == readLog = {}
NoLeaseRead == ~\E r \in readLog : r.path = "Lease"
NoOptimisticAdvance ==
    ~\E i \in Server : node[i].role = Leader /\
        \E j \in Peers(i) : node[i].flow[j] = ReplicateFlow /\ node[i].next[j] > node[i].match[j] + 1
NoWindowFull ==
    ~\E i \in Server : node[i].role = Leader /\
        \E j \in Peers(i) : node[i].flow[j] = ReplicateFlow /\ Len(node[i].inflight[j]) >= MaxInFlight
NoBackToProbe ==
    ~\E i \in Server : node[i].role = Leader /\
        \E j \in Peers(i) : node[i].flow[j] = Probe /\ node[i].match[j] > 0
=============================================================================
