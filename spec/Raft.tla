-------------------------------- MODULE Raft --------------------------------
(***************************************************************************)
(* The Raft protocol exactly as refraft's core (src/) runs it, written     *)
(* from the Raft paper (Ongaro & Ousterhout, 2014), Ongaro's dissertation  *)
(* and the code. spec/README.md maps every rule to its section, to the     *)
(* Rust function that implements it and to the property that guards it.   *)
(* The properties are in RaftProperties.tla, the dissertation's features   *)
(* (PreVote, CheckQuorum, heartbeat rounds, reads, the pipelined leader)   *)
(* in RaftFeatures.tla, which this module extends.                         *)
(*                                                                         *)
(* Shape of the spec, mirroring the sans-IO core:                          *)
(*  - node[i] is the state of one server: the durable part of Figure 2     *)
(*    (term, votedFor, log) and the volatile part (role, votes, nextIndex, *)
(*    matchIndex, commitIndex, and what RaftFeatures adds).                *)
(*  - Every handler is a pure operator from (state, input) to              *)
(*    <<new state, set of messages sent>>, as Node::step is from an Input  *)
(*    to its effects. Step applies the result in one atomic action.        *)
(*  - Messages are one-way (src/message.rs). `messages` is the set of all  *)
(*    messages ever sent; delivery does not remove a message, so the       *)
(*    network may delay, reorder, duplicate and (by never delivering)      *)
(*    drop any message.                                                    *)
(*  - Persistence: a change to term, votedFor or log is durable at once    *)
(*    (the core emits the persist effect before any send). `durableTerm`,  *)
(*    `durableVote` and `durableLog` are what a restart reads back; each   *)
(*    differs from its volatile twin only when its rule (PersistTerm,      *)
(*    PersistVote, PersistEntries) is switched off.                        *)
(*  - Apply and answer: every step ends by applying what is committed      *)
(*    (`appliedLog`); a leader answers a client once its command is        *)
(*    applied (`replied`), and a retried command is applied once.          *)
(*  - Ghost history: `elections` (every leader ever elected),              *)
(*    `committed` (every entry ever committed by a leader, with the term   *)
(*    of that leader), `readLog` (every read served) and `replied` (every  *)
(*    client command answered) exist only for the properties.              *)
(***************************************************************************)
EXTENDS RaftFeatures

-----------------------------------------------------------------------------
(* Handlers of Figure 2: (state, input) -> <<state, messages sent>>, as in src/. *)

\* Node::advance_leader_commit, §5.3 and §5.4.2: the highest index stored on a majority
\* (quorum::majority_index), if it is of the current term. Node::commit_to then serves the
\* reads that waited for it (diss. §6.4).
AdvanceCommit(i, s) ==
    LET acked == [j \in Server |-> IF j = i THEN Len(s.log) ELSE s.match[j]]
        n == SetMax({acked[j] : j \in {k \in Server :
                        Cardinality({l \in Server : acked[l] >= acked[k]}) >= Quorum}})
    IN IF n > s.commit /\ (TermAt(s.log, n) = s.term \/ ~Keeps("CurrentTermCommit"))
       THEN AdvanceReads(i, CommitTo(s, n)) ELSE <<s, {}>>

\* Node::become_leader, §5.2, §8: nextIndex = last + 1, matchIndex = 0 (Progress::new: probe),
\* append a no-op, send AppendEntries to every peer, with CheckQuorum send the first heartbeat
\* round (diss. §6.2), then try to commit.
BecomeLeader(i, s) ==
    LET s1 == [LeaderReset(s) EXCEPT !.role = Leader, !.votes = {},
                        !.next = [j \in Server |-> IF j = i THEN 0 ELSE Len(s.log) + 1],
                        !.log = Append(s.log, Entry(s.term, 0))]
        r1 == Replicate(i, s1)
        r2 == IF CheckQuorum
              THEN LET r == StartRound(i, r1[1])
                   IN <<[r[1] EXCEPT !.checkRound = r[1].round], r[2]>>
              ELSE <<r1[1], {}>>
        r3 == AdvanceCommit(i, r2[1])
    IN <<r3[1], r1[2] \cup r2[2] \cup r3[2]>>

\* Node::start_election, §5.2: new term, vote for self (persisted), RequestVote to all.
StartElection(i, s) ==
    LET s1 == [s EXCEPT !.term = s.term + 1, !.votedFor = i, !.durableTerm = s.term + 1,
                        !.durableVote = i,
                        !.role = Candidate, !.votes = {i}, !.leader = Nil]
    IN IF Quorum = 1 THEN BecomeLeader(i, s1)
       ELSE <<s1, {RequestVoteMsg(i, j, s1) : j \in Peers(i)}>>

\* Node::start_pre_vote (src/pre_vote.rs), diss. §9.6: become a pre-candidate and ask every
\* peer whether it would win term + 1; nothing durable changes.
StartPreVote(i, s) ==
    LET s1 == [s EXCEPT !.role = PreCandidate, !.votes = {i}, !.leader = Nil]
    IN IF Quorum = 1 THEN StartElection(i, s1)
       ELSE <<s1, {PreVoteMsg(i, j, s1) : j \in Peers(i)}>>

\* Node::handle_request_vote (Figure 2, RequestVote receiver; §5.2, §5.4.1).
\* Rule StaleTermVote (Figure 2, RequestVote 1) switched off: a request of a lower term is
\* judged like one of the current term (a vote granted is recorded in the current term).
\* The answer carries the voter's term; with EchoVoteTerm (Config::vote_grant_echoes_term) a
\* grant carries the request's, the same term while the rule holds.
HandleRequestVote(i, j, s, m) ==
    IF m.mterm < s.term /\ Keeps("StaleTermVote") THEN <<s, {VoteMsg(i, j, s.term, FALSE)}>>
    ELSE
    LET free == s.votedFor = Nil \/ s.votedFor = j \/ ~Keeps("VoteOncePerTerm")
        upToDate == IsUpToDate(s.log, m.mlastLogIndex, m.mlastLogTerm)
                    \/ ~Keeps("ElectionRestriction")
        grant == free /\ upToDate
        s1 == IF grant
              THEN [s EXCEPT !.votedFor = j,
                             !.durableTerm = IF Keeps("PersistVote") THEN s.term ELSE @,
                             !.durableVote = IF Keeps("PersistVote") THEN j ELSE @]
              ELSE s
    IN <<s1, {VoteMsg(i, j, IF grant /\ EchoVoteTerm THEN m.mterm ELSE s.term, grant)}>>

\* Node::handle_request_vote_response (§5.2): a majority of votes makes a leader.
\* Rule CurrentTermVotes (§5.2) switched off: a vote granted in an older term is counted.
HandleVote(i, j, s, m) ==
    IF (m.mterm < s.term /\ Keeps("CurrentTermVotes")) \/ s.role # Candidate \/ ~m.mgranted THEN <<s, {}>>
    ELSE
    LET s1 == [s EXCEPT !.votes = @ \cup {j}]
    IN IF Cardinality(s1.votes) >= Quorum THEN BecomeLeader(i, s1) ELSE <<s1, {}>>

\* Node::handle_pre_vote_response (src/pre_vote.rs), diss. §9.6: a pre-candidate counts
\* pre-votes for term + 1; a majority starts the real election (§5.2).
HandlePreVoteResponse(i, j, s, m) ==
    IF s.role # PreCandidate \/ m.mterm # s.term + 1 \/ ~m.mgranted THEN <<s, {}>>
    ELSE
    LET s1 == [s EXCEPT !.votes = @ \cup {j}]
    IN IF Cardinality(s1.votes) >= Quorum THEN StartElection(i, s1) ELSE <<s1, {}>>

\* The defensive check of handle_append_entries: a leader's entries never decrease in
\* term nor exceed its own term (never true for messages a correct leader sends).
Malformed(m) ==
    \E k \in 1..Len(m.mentries) :
        \/ m.mentries[k].term > m.mterm
        \/ m.mentries[k].term < IF k = 1 THEN m.mprevLogTerm ELSE m.mentries[k - 1].term

\* The hint of a failed consistency check (§5.3): h, the conflict-term hint; with
\* RejectHint = "CommitIndex" (Config::reject_hint = RejectHint::CommitIndex) no term and the
\* follower's commit index + 1, where its log matches every later leader's.
RejectHintOf(s, h) ==
    IF RejectHint = "CommitIndex" THEN [term |-> None, index |-> s.commit + 1] ELSE h

\* Node::handle_append_entries (Figure 2, AppendEntries receiver; §5.3).
\* Rule StaleTermAppend (Figure 2, AppendEntries 1) switched off: a request of a lower term
\* is handled like one of the current term. Rule PrevLogTerm (Figure 2, AppendEntries 2)
\* switched off: the consistency check looks at prevLogIndex only, not at its term.
HandleAppendEntries(i, j, s, m) ==
    IF m.mterm < s.term /\ Keeps("StaleTermAppend") THEN <<s, {RejectMsg(i, j, s.term, m.mprevLogIndex, Nil)}>>
    ELSE IF s.role = Leader THEN <<s, {}>>     \* StepError::SecondLeader: ignored
    ELSE
    LET s1 == FollowLeader(s, j)  \* a (pre-)candidate steps down (§5.2)
        log == s1.log
        prev == m.mprevLogIndex
        ents == m.mentries
        tp == TermAt(log, prev)
    IN
    IF Malformed(m) THEN <<s1, {}>>
    ELSE IF tp = None
    THEN <<s1, {RejectMsg(i, j, s.term, prev,
                          RejectHintOf(s1, [term |-> None, index |-> Len(log) + 1]))}>>
    ELSE IF tp # m.mprevLogTerm /\ Keeps("PrevLogTerm")
    THEN LET fi == FirstIndexOfTerm(log, tp)
         IN <<s1, {RejectMsg(i, j, s.term, prev,
                             RejectHintOf(s1, [term |-> tp,
                                               index |-> IF fi = None THEN prev ELSE fi]))}>>
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

\* The hinted next index of a rejection (§5.3, end): after the leader's last entry of the
\* conflict term, else the hint's index.
Hinted(s, m) ==
    LET h == m.mhint
    IN IF h = Nil THEN m.mprevLogIndex
       ELSE IF h.term = None THEN h.index
       ELSE LET last == LastIndexOfTerm(s.log, h.term)
            IN IF last = None THEN h.index ELSE last + 1

\* Node::handle_append_entries_response (§5.3), Figure 2's leader (MaxInFlight = 0):
\* nextIndex moves only on answers.
\* Rule MatchIndexFromAck (§5.3) switched off: a success sets matchIndex to the leader's
\* own last index, as if the follower held the whole log, not the acknowledged range.
HandleAppendResponseFig2(i, j, s, m) ==
    IF m.msuccess
    THEN IF m.mmatchIndex > Len(s.log) THEN <<s, {}>>
         ELSE
         LET mi == IF Keeps("MatchIndexFromAck") THEN Max(s.match[j], m.mmatchIndex)
                   ELSE Len(s.log)
             s1 == [s EXCEPT !.match[j] = mi, !.next[j] = Max(s.next[j], mi + 1)]
             r == AdvanceCommit(i, s1)
         IN <<r[1], r[2] \cup IF s1.next[j] <= Len(s.log) THEN {AppendMsg(i, j, r[1])} ELSE {}>>
    ELSE IF m.mprevLogIndex < s.match[j] \/ m.mprevLogIndex >= s.next[j]
    THEN <<s, {}>>                              \* StepError::StaleResponse
    ELSE
    LET s1 == [s EXCEPT !.next[j] = Max(Min(Hinted(s, m), m.mprevLogIndex), s.match[j] + 1)]
    IN <<s1, {AppendMsg(i, j, s1)}>>

\* The same handler with the pipelined leader (MaxInFlight > 0; diss. §10.2):
\* Progress::on_success and Progress::on_reject, then Sender::fill for that peer.
HandleAppendResponsePipelined(i, j, s, m) ==
    IF m.msuccess
    THEN IF m.mmatchIndex > Len(s.log) THEN <<s, {}>>   \* StepError::IndexOutOfRange
         ELSE
         LET mi == IF Keeps("MatchIndexFromAck") THEN m.mmatchIndex ELSE Len(s.log)
             r1 == AdvanceCommit(i, OnSuccess(s, j, mi))
             r2 == Fill(i, j, r1[1], MaxInFlight)
         IN <<r2[1], r1[2] \cup r2[2]>>
    ELSE IF (s.match[j] > 0 /\ m.mprevLogIndex <= s.match[j]) \/ m.mprevLogIndex >= s.next[j]
    THEN <<s, {}>>                              \* StepError::StaleResponse
    ELSE Fill(i, j, OnReject(s, j, m.mprevLogIndex, Hinted(s, m)), MaxInFlight)

HandleAppendResponse(i, j, s, m) ==
    IF m.mterm < s.term \/ s.role # Leader THEN <<s, {}>>
    ELSE IF MaxInFlight = 0 THEN HandleAppendResponseFig2(i, j, s, m)
    ELSE HandleAppendResponsePipelined(i, j, s, m)

-----------------------------------------------------------------------------
(* Actions *)

\* Node::apply_committed, at the end of every step (Figure 2, All Servers): apply the entries
\* after last_applied through commitIndex, in order. Rule ApplyOnlyCommitted switched off:
\* through the last entry the log holds, committed or not.
ApplyTo(s) == IF Keeps("ApplyOnlyCommitted") THEN s.commit ELSE Len(s.log)
Applied(s) ==
    IF Len(s.appliedLog) < ApplyTo(s)
    THEN s.appliedLog \o SubSeq(s.log, Len(s.appliedLog) + 1, ApplyTo(s))
    ELSE s.appliedLog

\* What the state machine has done: the client commands it applied, in order, each at most
\* once (the session table, diss. §6.3: a command applied before is answered from the table,
\* never applied again). Rule ApplyOnce switched off: every entry's command is applied.
RECURSIVE MachineOf(_)
MachineOf(applied) ==
    IF applied = <<>> THEN <<>>
    ELSE LET prev == MachineOf(SubSeq(applied, 1, Len(applied) - 1))
             v == applied[Len(applied)].value
         IN IF v = 0 \/ (Keeps("ApplyOnce") /\ \E k \in 1..Len(prev) : prev[k] = v)
            THEN prev ELSE Append(prev, v)
Machine(s) == MachineOf(s.appliedLog)

\* DurableState::apply of the step's persist effects. Rule PersistEntries (Figure 2,
\* persistent state) switched off: a follower's new entries are not written (its
\* acknowledgement reveals them all the same); a leader's own appends still are, at the
\* index they were appended at (truncate_from, then extend, as src/durable.rs does).
Splice(d, first, ents) ==
    IF Len(d) >= first - 1 THEN SubSeq(d, 1, first - 1) \o ents ELSE d \o ents
PersistedLog(old, s) ==
    IF Keeps("PersistEntries") THEN s.log
    ELSE IF s.role = Leader /\ Len(s.log) > Len(old.log)
    THEN Splice(old.durableLog, Len(old.log) + 1, SubSeq(s.log, Len(old.log) + 1, Len(s.log)))
    ELSE old.durableLog

\* Apply one handler's result to server i, and keep the ghost history. Reads the handler
\* marked served leave the server's queue and enter readLog (Effect::ReadReply). The step
\* ends by persisting (PersistedLog) and applying (Applied); a leader answers the client of
\* every command it applies (Effect::Reply, §8), `early` are the answers given before that.
StepWith(i, result, delivered, early) ==
    LET old == node[i]
        servedNow == {r \in result[1].reads : r.served}
        s0 == [result[1] EXCEPT !.reads = @ \ servedNow]
        s == [s0 EXCEPT !.durableLog = PersistedLog(old, s0), !.appliedLog = Applied(s0)]
        newlyApplied == SubSeq(s.appliedLog, Len(s0.appliedLog) + 1, Len(s.appliedLog))
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
       /\ readLog' = readLog \cup {[id |-> r.id, floor |-> r.floor, index |-> r.index,
                                    path |-> r.path, term |-> s.term] : r \in servedNow}
       /\ replied' = replied \cup early \cup
                     IF s.role = Leader
                     THEN {newlyApplied[k].value : k \in {k \in 1..Len(newlyApplied) :
                                                             newlyApplied[k].value # 0}}
                     ELSE {}

Step(i, result, delivered) == StepWith(i, result, delivered, {})

\* Input::Timeout(Timer::Election) at a follower, pre-candidate or candidate: a pre-vote
\* round (diss. §9.6) with PreVote, else an election. It also ends a follower's "heard from
\* the leader recently" window (§4.2.3): that window is its election timeout. With lease
\* reads it cannot fire while a live leader's lease may count the server (LeaseTiming).
\* The handlers' results of the actions below, as pure operators (Traceraft.tla applies them
\* to one server's state per trace line).
ElectionResult(i, s) == IF PreVote THEN StartPreVote(i, s) ELSE StartElection(i, s)
ElectionTimeout(i) ==
    /\ node[i].role \in {Follower, PreCandidate, Candidate}
    /\ node[i].term < MaxTerm
    /\ LeaseTiming(i)
    /\ Step(i, ElectionResult(i, node[i]), {})
    /\ UNCHANGED <<requests, restarts, readsIssued, retries>>

\* Input::Timeout(Timer::Heartbeat) at a leader (§5.2); with CheckQuorum also a numbered
\* heartbeat round (diss. §6.2).
HeartbeatResult(i, s) ==
    LET r1 == Heartbeat(i, s)
        r2 == IF CheckQuorum THEN StartRound(i, r1[1]) ELSE <<r1[1], {}>>
    IN <<r2[1], r1[2] \cup r2[2]>>
HeartbeatTimeout(i) ==
    /\ node[i].role = Leader
    /\ Step(i, HeartbeatResult(i, node[i]), {})
    /\ UNCHANGED <<requests, restarts, readsIssued, retries>>

\* Input::Timeout(Timer::QuorumCheck) at a leader with CheckQuorum (diss. §6.2).
QuorumCheckTimeout(i) ==
    /\ CheckQuorum
    /\ node[i].role = Leader
    /\ Step(i, QuorumCheck(i, node[i]), {})
    /\ UNCHANGED <<requests, restarts, readsIssued, retries>>

\* Input::ClientRequest at a leader (§5.3, §8): append, send, try to commit. (A follower
\* only redirects the client, which changes no state.) The answer waits until the command is
\* applied (§8); rule ReplyAfterApply switched off: the leader answers at once.
ClientRequestResult(i, s, v) ==
    LET r1 == Replicate(i, [s EXCEPT !.log = Append(@, Entry(s.term, v))])
        r2 == AdvanceCommit(i, r1[1])
    IN <<r2[1], r1[2] \cup r2[2]>>
ClientRequest(i) ==
    /\ node[i].role = Leader
    /\ requests < MaxClientRequests
    /\ requests' = requests + 1
    /\ UNCHANGED <<restarts, readsIssued, retries>>
    /\ StepWith(i, ClientRequestResult(i, node[i], requests + 1), {},
                IF Keeps("ReplyAfterApply") THEN {} ELSE {requests + 1})

\* A retry of client command v (the same client and serial, diss. §6.3) reaching leader i,
\* after its first attempt reached some leader. Node::handle_client_request: a command the
\* session table holds is answered from it (rule ApplyOnce switched off: the table is not
\* consulted); one this leader proposed in its term and has not applied yet waits for that
\* entry (the pending index, src/pending.rs); any other is appended again, and applying
\* skips it if an earlier copy was applied first.
Pending(s, v) == \E k \in Len(s.appliedLog) + 1..Len(s.log) : s.log[k] = Entry(s.term, v)
ClientRetry(i) ==
    /\ node[i].role = Leader
    /\ retries < MaxRetries
    /\ retries' = retries + 1
    /\ UNCHANGED <<requests, restarts, readsIssued>>
    /\ \E v \in 1..requests :
        IF Keeps("ApplyOnce") /\ \E k \in 1..Len(Machine(node[i])) : Machine(node[i])[k] = v
        THEN StepWith(i, <<node[i], {}>>, {}, {v})
        ELSE /\ ~Pending(node[i], v)
             /\ StepWith(i, ClientRequestResult(i, node[i], v), {}, IF Keeps("ReplyAfterApply") THEN {} ELSE {v})

\* Input::Read at a leader (Node::handle_read, diss. §6.4). A follower refuses it with a
\* hint, which changes no state. `floor` (ghost) is the highest index committed when the read
\* is issued.
ClientRead(i) ==
    /\ node[i].role = Leader
    /\ readsIssued < MaxReads
    /\ readsIssued' = readsIssued + 1
    /\ UNCHANGED <<requests, restarts, retries>>
    /\ LET floor == IF committed = {} THEN 0 ELSE SetMax({c.index : c \in committed})
           read == [id |-> readsIssued + 1, floor |-> floor, index |-> None, round |-> 0,
                    path |-> "None", served |-> FALSE]
       IN Step(i, AdvanceReads(i, [node[i] EXCEPT !.reads = @ \cup {read}]), {})

\* Input::Message: Node::handle_message adopts a higher term first (§5.1), then dispatches.
\* A PreVote and a granted PreVoteResponse are never adopted (diss. §9.6), and a follower
\* that heard from its leader ignores RequestVote of a higher term (§4.2.3, Sticky).
\* Rule AdoptResponseTerm (Figure 2, All Servers) switched off: only requests, not
\* responses, make a server adopt a higher term.
IsRequest(m) == m.mtype \in {"RequestVote", "AppendEntries", "PreVote", "Heartbeat"}
NeverAdopted(m) ==
    m.mtype = "PreVote" \/ (m.mtype = "PreVoteResponse" /\ m.mgranted)
ReceiveResult(i, j, s0, m) ==
    LET sticky == m.mtype = "RequestVote" /\ m.mterm > s0.term /\ Sticky(s0) # Nil
        s == IF m.mterm > s0.term /\ ~NeverAdopted(m)
                /\ (IsRequest(m) \/ Keeps("AdoptResponseTerm"))
             THEN AdoptTerm(s0, m.mterm) ELSE s0
    IN IF sticky THEN <<s0, {}>>      \* StepError::LeaderSticky, no term adopted
       ELSE CASE m.mtype = "RequestVote" -> HandleRequestVote(i, j, s, m)
              [] m.mtype = "RequestVoteResponse" -> HandleVote(i, j, s, m)
              [] m.mtype = "AppendEntries" -> HandleAppendEntries(i, j, s, m)
              [] m.mtype = "AppendEntriesResponse" -> HandleAppendResponse(i, j, s, m)
              [] m.mtype = "PreVote" -> HandlePreVote(i, j, s, m)
              [] m.mtype = "PreVoteResponse" -> HandlePreVoteResponse(i, j, s, m)
              [] m.mtype = "Heartbeat" -> HandleHeartbeat(i, j, s, m)
              [] m.mtype = "HeartbeatResponse" -> HandleHeartbeatResponse(i, j, s, m)
Receive(m) ==
    /\ Step(m.mdest, ReceiveResult(m.mdest, m.msrc, node[m.mdest], m), IF Duplication THEN {} ELSE {m})
       /\ UNCHANGED <<requests, restarts, readsIssued, retries>>

\* A crash and restart: Node::new from the durable state alone (Figure 2). With lease reads
\* a server a live lease may count stays up until that lease ends (LeaseTiming).
Restart(i) ==
    /\ restarts < MaxRestarts
    /\ LeaseTiming(i)
    /\ restarts' = restarts + 1
    /\ node' = [node EXCEPT ![i] = Restarted(@.durableTerm, @.durableVote, @.durableLog)]
    /\ UNCHANGED <<messages, requests, elections, committed, readsIssued, readLog, replied,
                   retries>>

Init ==
    /\ node = [i \in Server |-> Restarted(0, Nil, <<>>)]
    /\ messages = {}
    /\ requests = 0
    /\ restarts = 0
    /\ elections = {}
    /\ committed = {}
    /\ readsIssued = 0
    /\ readLog = {}
    /\ replied = {}
    /\ retries = 0

Next ==
    \/ \E i \in Server : ElectionTimeout(i) \/ HeartbeatTimeout(i) \/ ClientRequest(i)
                         \/ Restart(i) \/ QuorumCheckTimeout(i) \/ ClientRead(i)
                         \/ ClientRetry(i)
    \/ \E m \in messages : Receive(m)

Spec == Init /\ [][Next]_vars
=============================================================================
