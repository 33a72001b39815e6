----------------------------- MODULE MCSchedule -----------------------------
(* MCRaft with a schedule of candidates: only the servers in Schedule[t] may start *)
(* an election into term t. A state constraint, so it cuts behaviours, never adds  *)
(* any: every behaviour TLC explores here is one of Raft.tla. It trades the         *)
(* symmetry reduction (a schedule names servers) for depth: with one candidate per *)
(* term there are no split votes, and TLC reaches four terms with entries sent one *)
(* at a time (spec/README.md, "Deep configurations").                              *)
EXTENDS MCRaft

CONSTANTS
    Schedule,           \* Schedule[t]: the servers that may become candidates of term t
    MaxRequestsSent     \* bound: distinct RequestVote and AppendEntries messages sent, in all

ASSUME Schedule \in Seq(SUBSET MCServer) /\ Len(Schedule) >= MaxTerm

\* MCRaft-deep.cfg: three terms, s1 and s2 alternate (s3 only votes and stores entries).
DeepSchedule == <<{s1}, {s2}, {s1}>>
\* MCFigure8.cfg: the candidates of Figure 8 with three servers (s1 and s2 alternate,
\* s3 only votes and stores entries).
Figure8Schedule == <<{s1}, {s2}, {s1}, {s2}>>
\* MCEchoVote.cfg: two candidates of term 1 (s1 and s3), then s2 and s1 again
\* (Config::vote_grant_echoes_term).
EchoVoteSchedule == <<{s1, s3}, {s2}, {s1}>>

OnSchedule == \A e \in ElectionsStarted : e[1] \in Schedule[e[2]]

\* Responses are not counted: each answers a request, and the three elections and the
\* one-at-a-time replication these configurations are for need more responses (18 messages
\* in all for a conflict-term hint) than MCRaft's message bound can afford.
MCScheduleBound ==
    /\ MCBound
    /\ OnSchedule
    /\ Cardinality({m \in messages : IsRequest(m)}) <= MaxRequestsSent

\* The same schedule as part of the next-state relation, for TLC -simulate: a random
\* behaviour never takes an off-schedule step (which a constraint would make it stop at).
ScheduledSpec == Init /\ [][Next /\ OnSchedule']_vars

\* An action constraint: no heartbeat timeouts. A leader still sends AppendEntries when
\* elected, on a client request, on every answer from a peer that is behind and on every
\* rejection; what it no longer sends is a repeat of those, or a message that only carries a
\* higher leaderCommit to a peer that holds the whole log.
NoHeartbeat == ~\E i \in Server : HeartbeatTimeout(i)
=============================================================================
