------------------------------ MODULE Traceraft ------------------------------
(***************************************************************************)
(* Trace validation of Raft.tla (spec/README.md, "Trace validation"): TLC  *)
(* checks that a trace (spec/TRACE.md) is a behaviour of the spec. Each    *)
(* line is one step of one server; TraceNext applies the spec's handler    *)
(* for the line's input (Raft.tla's ElectionResult, HeartbeatResult,       *)
(* ClientRequestResult, ReceiveResult, QuorumCheck, Restarted; for a read  *)
(* RaftFeatures.tla's AdvanceReads, as ClientRead does) to that            *)
(* server's state, then compares the post-state with the line's `state`    *)
(* (term, vote, role, log terms, commit; nextIndex and matchIndex on a     *)
(* leader) and the messages the spec sends with the line's sends.          *)
(*                                                                         *)
(* Reads (diss. §6.4): a `read` line at a leader adds a read to its queue  *)
(* (id `rid`, given by the converter) and calls AdvanceReads, which sends  *)
(* a heartbeat round if one is needed; heartbeat responses, commits and    *)
(* quorum checks advance it. The reads the spec serves on a line must be   *)
(* exactly those the line answers with a read index (`rserved`), so a read *)
(* answered before its quorum round (or its leader's first commit) is     *)
(* rejected at its line. A read at a follower changes nothing (refused);   *)
(* a forwarded read (ReadIndex messages) is not modelled and is refused    *)
(* by the converter.                                                       *)
(*                                                                         *)
(* Messages are matched by id: the spec's message for each send the trace  *)
(* receives later is kept under its id in `pending`, and a receive line    *)
(* hands the spec exactly that message (with what the trace format leaves  *)
(* out, such as a rejection's conflict hint). A message is dropped from    *)
(* `pending` at its last receive, so the state holds only the messages     *)
(* still to arrive, however long the trace.                                *)
(*                                                                         *)
(* The first line that cannot be matched stops the run: `verdict` names    *)
(* the line, the field and both values, and the invariant TraceMatched is  *)
(* violated there. The spec being deterministic per line, TLC explores one *)
(* state per line.                                                         *)
(*                                                                         *)
(* TraceData.tla is generated from the NDJSON trace by                     *)
(* `refraft-model trace-tla` (TLC 2.15 has no Json module). It defines     *)
(* TraceLines (the lines of one or more traces of one cluster, each line's *)
(* trace named by TraceFiles[line.run]) and the cluster and feature        *)
(* constants Traceraft.cfg takes from it (TraceServer, TracePreVote,       *)
(* TraceCheckQuorum, TraceMaxInFlight, TraceMaxBatch, TraceReadMode).      *)
(***************************************************************************)
EXTENDS Raft, TraceData, TLC

VARIABLES
    l,          \* the index in TraceLines of the next line to match
    pending,    \* message id -> the spec's message, for each message received later
    verdict     \* field = "none" while every line matched; else the first divergence

traceVars == <<l, pending, verdict>>

OK == [line |-> 0, field |-> "none", spec |-> "", trace |-> ""]

\* The trace writes a missing vote as -1 (ids are never negative).
VoteOf(v) == IF v = -1 THEN Nil ELSE v

TermsOf(log) == [k \in 1..Len(log) |-> log[k].term]
\* A log given by the trace (init lines): its commands are unknown, and the spec never reads
\* them (only the properties, which trace validation does not check, do).
LogOf(terms) == [k \in 1..Len(terms) |-> Entry(terms[k], 0)]

\* A spec message sm matches a trace message given by rec (a receive line or a send, with
\* the message's fields in rec.msg and, for an AppendEntries, the terms of its entries in
\* rec.entries): every field the trace gives agrees, the entries by term.
Matches(sm, rec) ==
    /\ \A f \in DOMAIN rec.msg : f \in DOMAIN sm /\ sm[f] = rec.msg[f]
    /\ sm.mtype = "AppendEntries" => TermsOf(sm.mentries) = rec.entries


\* A read the line issues (Raft.tla's ClientRead; `floor` is ghost, for the properties only).
NewRead(id) == [id |-> id, floor |-> 0, index |-> None, round |-> 0, path |-> "None",
                served |-> FALSE]

\* The reads the spec's result r serves (Effect::ReadReply): they leave the queue.
ServedIds(r) == {x.id : x \in {x \in r[1].reads : x.served}}
Unserved(s) == [s EXCEPT !.reads = {x \in @ : ~x.served}]

\* The spec's <<state, messages sent>> for line ln on server state s, p the pending messages.
\* An input the spec has no action for in that role (a heartbeat timer at a follower, a client
\* at a follower, which only redirects) changes nothing, as in the core. So does a client
\* request that the leader's client sessions answer without appending (a duplicate or an old
\* serial, dissertation §6.3; the spec has no sessions): the converter marks a client line
\* `appends` when its effects persist entries.
Result(ln, s, p) ==
    LET i == ln.node IN
    CASE ln.kind = "init" -> <<Restarted(ln.state.term, VoteOf(ln.state.vote), LogOf(ln.state.log)), {}>>
      [] ln.kind = "restart" -> <<Restarted(s.term, s.durableVote, s.log), {}>>
      [] ln.kind = "timeout" /\ ln.timer = "election" ->
            IF s.role \in {Follower, PreCandidate, Candidate} THEN ElectionResult(i, s) ELSE <<s, {}>>
      [] ln.kind = "timeout" /\ ln.timer = "heartbeat" ->
            IF s.role = Leader THEN HeartbeatResult(i, s) ELSE <<s, {}>>
      [] ln.kind = "timeout" /\ ln.timer = "quorum_check" ->
            IF CheckQuorum /\ s.role = Leader THEN QuorumCheck(i, s) ELSE <<s, {}>>
      [] ln.kind = "client" ->
            IF s.role = Leader /\ ln.appends THEN ClientRequestResult(i, s, 0) ELSE <<s, {}>>
      [] ln.kind = "read" ->
            IF s.role = Leader THEN AdvanceReads(i, [s EXCEPT !.reads = @ \cup {NewRead(ln.rid)}])
            ELSE <<s, {}>>
      [] ln.kind = "receive" -> ReceiveResult(i, ln.from, s, p[ln.mid])

Diff(field, specValue, traceValue) ==
    [line |-> 0, field |-> field, spec |-> specValue, trace |-> traceValue]

PeerMap(i, f) == {<<j, f[j]>> : j \in Peers(i)}

\* OK, or the first field of line ln in which the spec's result r on old differs.
Mismatch(ln, old, r, p) ==
    LET s == r[1]
        st == ln.state
        i == ln.node
        before == st.logFrom - 1
        sends == ln.sends
    IN
    CASE ln.kind = "receive" /\ ~Matches(p[ln.mid], ln) ->
            Diff("input message", p[ln.mid], ln.msg)
      [] s.term # st.term -> Diff("term", s.term, st.term)
      [] s.votedFor # VoteOf(st.vote) -> Diff("vote", s.votedFor, VoteOf(st.vote))
      [] s.role # st.role -> Diff("role", s.role, st.role)
      [] Len(s.log) # before + Len(st.log) -> Diff("log length", Len(s.log), before + Len(st.log))
      [] [k \in 1..Len(st.log) |-> s.log[before + k].term] # st.log ->
            Diff("log terms from index " \o ToString(st.logFrom), TermsOf(s.log), st.log)
      [] SubSeq(s.log, 1, before) # SubSeq(old.log, 1, before) ->
            Diff("log before index " \o ToString(st.logFrom) \o " (unchanged in the trace)",
                 TermsOf(s.log), TermsOf(old.log))
      [] s.commit # st.commit -> Diff("commit", s.commit, st.commit)
      [] s.role = Leader /\ PeerMap(i, s.next) # st.next -> Diff("next", PeerMap(i, s.next), st.next)
      [] s.role = Leader /\ PeerMap(i, s.match) # st.match -> Diff("match", PeerMap(i, s.match), st.match)
      [] ServedIds(r) # ln.rserved -> Diff("reads served", ServedIds(r), ln.rserved)
      [] \/ Cardinality(r[2]) # Len(sends)
         \/ \E k \in 1..Len(sends) : ~\E sm \in r[2] : Matches(sm, sends[k])
         \/ \E sm \in r[2] : ~\E k \in 1..Len(sends) : Matches(sm, sends[k]) ->
            Diff("messages sent", r[2], [k \in 1..Len(sends) |-> sends[k].msg])
      [] OTHER -> OK

\* pending after line ln, whose spec messages are sent: its message leaves at its last
\* receive; the sends received later enter under their ids.
NextPending(ln, sent, p0) ==
    LET p == IF ln.kind = "receive" /\ ln.last
             THEN [x \in DOMAIN p0 \ {ln.mid} |-> p0[x]] ELSE p0
        kept == {k \in 1..Len(ln.sends) : ln.sends[k].keep}
        ids == {ln.sends[k].mid : k \in kept}
        SpecMsg(x) == LET k == CHOOSE k \in kept : ln.sends[k].mid = x
                   IN CHOOSE sm \in sent : Matches(sm, ln.sends[k])
    IN [x \in DOMAIN p \cup ids |-> IF x \in ids THEN SpecMsg(x) ELSE p[x]]

\* The cluster before a trace's first line: every server as from empty storage, no message.
FreshNodes == [i \in Server |-> Restarted(0, Nil, <<>>)]
NoMessages == [x \in {} |-> 0]

TraceInit ==
    /\ node = FreshNodes
    /\ messages = {}
    /\ requests = 0
    /\ restarts = 0
    /\ elections = {}
    /\ committed = {}
    /\ readsIssued = 0
    /\ readLog = {}
    /\ replied = {}
    /\ retries = 0
    /\ l = 1
    /\ pending = NoMessages
    /\ verdict = OK

TraceNext ==
    /\ verdict = OK
    /\ l <= Len(TraceLines)
    /\ LET ln == TraceLines[l]
           \* the first line of a trace (TraceData may hold several): a fresh cluster
           fresh == l > 1 /\ TraceLines[l - 1].run # ln.run
           nodes == IF fresh THEN FreshNodes ELSE node
           p == IF fresh THEN NoMessages ELSE pending
           old == nodes[ln.node]
           r == Result(ln, old, p)
           v == Mismatch(ln, old, r, p)
       IN IF v = OK
          THEN /\ node' = [nodes EXCEPT ![ln.node] = Unserved(r[1])]
               /\ pending' = NextPending(ln, r[2], p)
               /\ l' = l + 1
               /\ UNCHANGED verdict
               /\ l = Len(TraceLines) =>
                    PrintT("Traceraft: all " \o ToString(l) \o " steps of "
                           \o ToString(Len(TraceFiles)) \o " trace(s) matched")
          ELSE /\ verdict' = [v EXCEPT !.line = ln.line]
               /\ PrintT("Traceraft: " \o TraceFiles[ln.run] \o " line " \o ToString(ln.line)
                         \o " cannot be matched: " \o v.field \o ": spec " \o ToString(v.spec)
                         \o ", trace " \o ToString(v.trace))
               /\ UNCHANGED <<node, pending, l>>
    /\ UNCHANGED <<messages, requests, restarts, elections, committed, readsIssued, readLog,
                   replied, retries>>

TraceSpec == TraceInit /\ [][TraceNext]_<<vars, traceVars>>

\* The trace is a behaviour of the spec up to here: violated at the first line that is not.
TraceMatched == verdict.field = "none"
=============================================================================
