---------------------------- MODULE RaftFeatures ----------------------------
(* What Ongaro's dissertation adds to Figure 2, as refraft's core runs it:         *)
(* PreVote (§9.6, src/pre_vote.rs), leader stickiness and CheckQuorum (§4.2.3,     *)
(* §6.2, src/leadership.rs), numbered heartbeat rounds, ReadIndex and lease reads  *)
(* (§6.4, §6.4.1, src/read.rs), and the pipelined leader's flow control (§10.2,    *)
(* src/progress.rs, src/replication.rs Sender). Each is switched by a constant of  *)
(* RaftBase and leaves the state unchanged when off. Raft.tla calls these handlers.*)
EXTENDS RaftBase

-----------------------------------------------------------------------------
(* Role changes and commit *)

\* What only a leader keeps (Role::Leader { progress }, Leadership): dropped on stepping down.
LeaderReset(s) ==
    [s EXCEPT !.next = Zero, !.match = Zero, !.flow = [j \in Server |-> Probe],
              !.inflight = [j \in Server |-> <<>>], !.round = 0, !.acked = Zero,
              !.checkRound = 0, !.leased = FALSE, !.lease = {}, !.reads = {}]

\* Node::become_follower for a higher term (§5.1): adopt it, clear the vote (persisted).
\* A leader's waiting reads are refused (Node::refuse_pending_reads). Rule PersistTerm
\* (Figure 2, persistent state) switched off: the new term and the cleared vote are not
\* written; the disk keeps the old ones until the next hard-state write.
AdoptTerm(s, t) ==
    [LeaderReset(s) EXCEPT !.term = t, !.votedFor = Nil,
                           !.durableTerm = IF Keeps("PersistTerm") THEN t ELSE @,
                           !.durableVote = IF Keeps("PersistTerm") THEN Nil ELSE @,
                           !.role = Follower, !.votes = {}, !.leader = Nil]

\* Node::become_follower in the same term with no leader known: a leader that fails its
\* quorum check (diss. §6.2).
StepDown(s) == [LeaderReset(s) EXCEPT !.role = Follower, !.votes = {}, !.leader = Nil]

\* Node::commit_to: raise commitIndex, never past the log.
CommitTo(s, k) == IF k > s.commit THEN [s EXCEPT !.commit = Min(k, Len(s.log))] ELSE s

\* Node::follow_current_leader (src/replication.rs): a request of the current term from
\* leader j (AppendEntries or a heartbeat round) makes a (pre-)candidate a follower (§5.2)
\* and records j as the leader it heard from (kept only with CheckQuorum, for Sticky).
FollowLeader(s, j) ==
    [s EXCEPT !.role = Follower, !.votes = {}, !.leader = IF CheckQuorum THEN j ELSE Nil]

\* Node::sticky_leader (src/pre_vote.rs), §4.2.3: with CheckQuorum, a follower that heard
\* from its leader (within its election timeout: until ElectionTimeout fires) ignores
\* RequestVote and PreVote from others. Rule LeaseNeedsStickiness switched off: it does not.
Sticky(s) ==
    IF CheckQuorum /\ Keeps("LeaseNeedsStickiness") /\ s.role = Follower THEN s.leader ELSE Nil

-----------------------------------------------------------------------------
(* PreVote, diss. §9.6 *)

\* Node::handle_pre_vote (src/pre_vote.rs), called before any term is adopted: grant on the
\* up-to-date rule alone (§5.4.1), never change term or vote; a grant carries the request's
\* term, a refusal the voter's. Rule PreVoteKeepsTerm switched off: the voter adopts the
\* pre-vote's term as if it were a vote (and so refuses it).
HandlePreVote(i, j, s, m) ==
    IF m.mterm < s.term THEN <<s, {PreVoteResponseMsg(i, j, s.term, FALSE)}>>
    ELSE IF Sticky(s) # Nil THEN <<s, {}>>       \* StepError::LeaderSticky
    ELSE
    LET s1 == IF m.mterm > s.term /\ ~Keeps("PreVoteKeepsTerm") THEN AdoptTerm(s, m.mterm) ELSE s
        upToDate == UpToDate(m.mlastLogTerm, m.mlastLogIndex, LastTerm(s1.log), Len(s1.log))
        grant == m.mterm > s1.term /\ upToDate /\ s1.role # Leader
    IN <<s1, {PreVoteResponseMsg(i, j, IF grant THEN m.mterm ELSE s1.term, grant)}>>

-----------------------------------------------------------------------------
(* Heartbeat rounds and reads, diss. §6.2, §6.4 *)

\* Node::start_round: the next numbered round to every peer.
StartRound(i, s) ==
    <<[s EXCEPT !.round = @ + 1], {HeartbeatMsg(i, j, s.term, s.round + 1) : j \in Peers(i)}>>

\* Leadership::acknowledged: the servers (the leader included) that acknowledged round k or later.
Acknowledged(i, s, k) == 1 + Cardinality({j \in Peers(i) : s.acked[j] >= k})

\* Node::advance_reads (src/read.rs), diss. §6.4: (1) once an entry of the leader's term is
\* committed, (2) a read's index is the commit index; (3) it is confirmed by the lease, or by
\* a new heartbeat round once a majority acknowledged it; (4) it is served once applied
\* (applied = commit here). Rule ReadAfterOwnTermCommit switched off: step 1 is skipped;
\* rule ReadIndexQuorumRound switched off: step 3 is.
AdvanceReads(i, s) ==
    IF s.role # Leader \/ s.reads = {} THEN <<s, {}>>
    ELSE
    LET own == TermAt(s.log, s.commit) = s.term \/ ~Keeps("ReadAfterOwnTermCommit")
        viaLease == ReadMode = "Lease" /\ s.leased
        noRound == Quorum = 1 \/ ~Keeps("ReadIndexQuorumRound")
        SetIndex(r) ==
            IF r.index = None /\ own
            THEN [r EXCEPT !.index = s.commit,
                           !.path = IF viaLease THEN "Lease" ELSE IF noRound THEN "ReadIndex" ELSE "None"]
            ELSE r
        r1 == {SetIndex(r) : r \in s.reads}
        Waits(r) == r.index # None /\ r.path = "None" /\ r.round = 0
        need == \E r \in r1 : Waits(r)
        rd == s.round + 1
        s2 == IF need THEN [s EXCEPT !.round = rd] ELSE s
        SetRound(r) == IF need /\ Waits(r) THEN [r EXCEPT !.round = rd] ELSE r
        Confirm(r) ==
            IF r.path = "None" /\ r.round > 0 /\ Acknowledged(i, s2, r.round) >= Quorum
            THEN [r EXCEPT !.path = "ReadIndex"] ELSE r
        Serve(r) ==
            IF r.path # "None" /\ r.index # None /\ r.index <= s.commit
            THEN [r EXCEPT !.served = TRUE] ELSE r
    IN <<[s2 EXCEPT !.reads = {Serve(Confirm(SetRound(r))) : r \in r1}],
         IF need THEN {HeartbeatMsg(i, j, s.term, rd) : j \in Peers(i)} ELSE {}>>

\* Node::handle_heartbeat: like an AppendEntries without entries (§5.2); the caller adopted
\* a higher term.
HandleHeartbeat(i, j, s, m) ==
    IF m.mterm < s.term THEN <<s, {HeartbeatResponseMsg(i, j, s.term, m.mround)}>>
    ELSE IF s.role = Leader THEN <<s, {}>>     \* StepError::SecondLeader
    ELSE <<FollowLeader(s, j), {HeartbeatResponseMsg(i, j, s.term, m.mround)}>>

\* Node::handle_heartbeat_response: record the round; reads waiting for it may be served.
HandleHeartbeatResponse(i, j, s, m) ==
    IF m.mterm < s.term \/ s.role # Leader \/ m.mround > s.round THEN <<s, {}>>
    ELSE AdvanceReads(i, [s EXCEPT !.acked[j] = Max(@, m.mround)])

\* Node::handle_quorum_check (src/leadership.rs), diss. §6.2: the leader stays only if a
\* majority acknowledged a round sent at or after the previous check; it then holds a lease
\* counting those peers (§6.4.1) and sends the next round. Otherwise it steps down.
\* Rule CheckQuorum switched off: it never steps down (and takes the lease anyway).
QuorumCheck(i, s) ==
    LET supporters == {j \in Peers(i) : s.acked[j] >= s.checkRound}
        passed == Cardinality(supporters) + 1 >= Quorum
    IN IF ~passed /\ Keeps("CheckQuorum") THEN <<StepDown(s), {}>>
       ELSE LET r == StartRound(i, [s EXCEPT !.leased = TRUE, !.lease = supporters])
                r2 == AdvanceReads(i, [r[1] EXCEPT !.checkRound = r[1].round])
            IN <<r2[1], r[2] \cup r2[2]>>

\* The timing assumption of leases (diss. §6.4.1), made explicit as in the stateright model
\* (model/src/model.rs RaftModel::window_pinned): server f's election timer cannot fire, nor
\* f restart, while a live leader's lease counts f, or f acknowledged a round of that leader's
\* current term that its next quorum check may count. (A lease lasts one quorum-check period;
\* the peers it counts heard from the leader at most two periods before it ends, and a period
\* is half the minimum election timeout over the drift bound.) Only with lease reads.
WindowPinned(f) ==
    \E l \in Server :
        /\ node[l].role = Leader
        /\ \/ node[l].leased /\ f \in node[l].lease
           \/ /\ node[f].role = Follower /\ node[f].leader = l /\ node[f].term = node[l].term
              /\ \E m \in messages : /\ m.mtype = "HeartbeatResponse" /\ m.msrc = f
                                     /\ m.mdest = l /\ m.mterm = node[l].term
                                     /\ m.mround >= node[l].checkRound
LeaseTiming(i) == ReadMode = "Lease" /\ MaxReads > 0 => ~WindowPinned(i)

-----------------------------------------------------------------------------
(* The pipelined leader, diss. §10.2 (src/progress.rs, src/replication.rs Sender).    *)
(* With MaxInFlight = 0 the leader is Figure 2's: AppendEntries to every peer on each *)
(* occasion, nextIndex moved only by answers (the spec before pipelining).           *)

\* Progress::may_send: in Probe only when none is unanswered; in Replicate while the window
\* has room and there is something to send (Sender::fill's loop condition).
MaySend(s, j) ==
    IF s.flow[j] = Probe THEN s.inflight[j] = <<>>
    ELSE Len(s.inflight[j]) < MaxInFlight /\ s.next[j] <= Len(s.log)

\* Progress::record_send: in Replicate nextIndex advances past what was sent (the optimistic
\* step of §10.2). Rule NextIndexBound switched off: by a whole batch, full or not.
RecordSend(s, j, prev, last) ==
    [s EXCEPT !.inflight[j] = Append(@, [prev |-> prev, last |-> last]),
              !.next[j] = IF s.flow[j] # ReplicateFlow THEN @
                          ELSE IF Keeps("NextIndexBound") THEN last + 1
                          ELSE prev + MaxBatch + 1]

\* Sender::fill: sends peer j what its flow state allows, at most n requests.
RECURSIVE Fill(_, _, _, _)
Fill(i, j, s, n) ==
    IF n = 0 \/ ~MaySend(s, j) THEN <<s, {}>>
    ELSE LET msg == AppendMsg(i, j, s)
             s1 == RecordSend(s, j, msg.mprevLogIndex, msg.mprevLogIndex + Len(msg.mentries))
         IN IF s.flow[j] = Probe THEN <<s1, {msg}>>
            ELSE LET r == Fill(i, j, s1, n - 1) IN <<r[1], r[2] \cup {msg}>>

\* Sender::heartbeat: a probe is re-sent (Progress::on_heartbeat); in Replicate what waits
\* for room is sent if the window has room, else an empty request after nextIndex - 1.
HeartbeatTo(i, j, s) ==
    LET s0 == IF s.flow[j] = Probe THEN [s EXCEPT !.inflight[j] = <<>>] ELSE s
        r == Fill(i, j, s0, MaxInFlight)
    IN IF r[2] # {} THEN r ELSE <<s0, {[AppendMsg(i, j, s0) EXCEPT !.mentries = <<>>]}>>

RECURSIVE FillPeers(_, _, _)
FillPeers(i, S, s) ==
    IF S = {} THEN <<s, {}>>
    ELSE LET j == CHOOSE j \in S : TRUE
             r == Fill(i, j, s, MaxInFlight)
             rest == FillPeers(i, S \ {j}, r[1])
         IN <<rest[1], r[2] \cup rest[2]>>

RECURSIVE HeartbeatPeers(_, _, _)
HeartbeatPeers(i, S, s) ==
    IF S = {} THEN <<s, {}>>
    ELSE LET j == CHOOSE j \in S : TRUE
             r == HeartbeatTo(i, j, s)
             rest == HeartbeatPeers(i, S \ {j}, r[1])
         IN <<rest[1], r[2] \cup rest[2]>>

\* Node::replicate (§5.3, §10.2): every peer what its flow state allows.
Replicate(i, s) == IF MaxInFlight = 0 THEN <<s, Broadcast(i, s)>> ELSE FillPeers(i, Peers(i), s)
\* Node::heartbeat (§5.2).
Heartbeat(i, s) == IF MaxInFlight = 0 THEN <<s, Broadcast(i, s)>> ELSE HeartbeatPeers(i, Peers(i), s)

\* Progress::on_success: matchIndex from the acknowledgement, never lowered (§5.3); an answer
\* that shows where the logs match ends a probe (§10.2); in Replicate every request now
\* acknowledged leaves the window.
OnSuccess(s, j, mi) ==
    LET raised == mi > s.match[j]
        m2 == Max(s.match[j], mi)
        Unacked(f) == f.last > m2
    IN IF s.flow[j] = Probe
       THEN IF raised \/ mi + 1 >= s.next[j]
            THEN [s EXCEPT !.match[j] = m2, !.flow[j] = ReplicateFlow, !.next[j] = m2 + 1,
                           !.inflight[j] = <<>>]
            ELSE [s EXCEPT !.match[j] = m2]
       ELSE [s EXCEPT !.match[j] = m2, !.inflight[j] = SelectSeq(@, Unacked),
                      !.next[j] = Max(@, m2 + 1)]

\* Progress::on_reject: nextIndex to the hint, never below what was acknowledged nor above
\* the rejected index (§5.3); back to probing (§10.2). Rule ProbeOnReject switched off: the
\* window and the Replicate state stay.
OnReject(s, j, prev, hinted) ==
    LET s1 == [s EXCEPT !.next[j] = Max(Min(hinted, prev), s.match[j] + 1)]
    IN IF Keeps("ProbeOnReject") THEN [s1 EXCEPT !.flow[j] = Probe, !.inflight[j] = <<>>]
       ELSE s1
=============================================================================
