------------------------------ MODULE MCSeeded ------------------------------
(* MCSchedule with a scripted prefix: the first Len(Prefix) steps of every behaviour    *)
(* must each satisfy their predicate of PrefixStep, then TLC searches freely. The TLC   *)
(* analogue of the stateright model's seeded BFS (model/src/seeded.rs, tests/prefixes/). *)
(* Every step is a step of Raft.tla's Next (ScriptedNext conjoins Next), and the search *)
(* starts from Raft.tla's Init, so every behaviour TLC explores here is a behaviour of  *)
(* Raft.tla: the script only cuts, it adds nothing, and needs no separate argument that *)
(* its end state is reachable. `step` counts the steps taken, up to Len(Prefix).        *)
EXTENDS MCSchedule

VARIABLE step

\* tests/prefixes/term-3-leader-probes-follower-with-stale-entry.txt, servers n0, n1, n2
\* as s1, s2, s3: s1 leads term 1 and appends the client's command after its no-op; only
\* the no-op reaches s2 and s3 (with leaderCommit 0); s2 leads term 2 with s3's vote and
\* appends its no-op 2/2. Each predicate names the one server the step changes.
PrefixLength == 9
PrefixStep(k) ==
    CASE k = 1 -> node'[s1].role = Candidate /\ node'[s1].term = 1     \* s1 times out
      [] k = 2 -> node'[s2].votedFor = s1                             \* s2 grants s1 its vote
      [] k = 3 -> node'[s1].role = Leader                             \* s1 leads term 1
      [] k = 4 -> requests' = 1 /\ Len(node'[s1].log) = 2             \* the client's SET at s1
      [] k = 5 -> node'[s2].log = <<Entry(1, 0)>>                     \* s2 stores the no-op
      [] k = 6 -> node'[s3].log = <<Entry(1, 0)>>                     \* s3 stores the no-op
      [] k = 7 -> node'[s2].role = Candidate /\ node'[s2].term = 2     \* s2 times out
      [] k = 8 -> node'[s3].votedFor = s2 /\ node'[s3].term = 2         \* s3 votes for s2
      [] k = 9 -> node'[s2].role = Leader                             \* s2 leads term 2

SeededInit == Init /\ step = 0
ScriptedNext ==
    /\ Next
    /\ step < PrefixLength => PrefixStep(step + 1)
    /\ step' = Min(step + 1, PrefixLength)
SeededSpec == SeededInit /\ [][ScriptedNext]_<<vars, step>>

\* MCCommitHint.cfg: s1, s2, s3 lead terms 1, 2, 3.
CommitHintSchedule == <<{s1}, {s2}, {s3}>>

\* An AppendEntries that passes the follower's consistency check carries a leaderCommit
\* past its last new entry, and the follower holds, after that entry and not yet
\* committed, an entry that differs from the sender's at that index. Delivering it with
\* rule CommitMinLastNew (AppendEntries 5) switched off commits that stale entry.
NoCommitPastLastNewHazard ==
    ~\E m \in messages :
        LET f == node[m.mdest]
            l == node[m.msrc]
            lastNew == m.mprevLogIndex + Len(m.mentries)
        IN /\ m.mtype = "AppendEntries" /\ m.mterm = f.term /\ f.role = Follower
           /\ TermAt(f.log, m.mprevLogIndex) = m.mprevLogTerm
           /\ m.mcommit > lastNew /\ lastNew < Len(f.log) /\ f.commit <= lastNew
           /\ lastNew < Len(l.log) /\ f.log[lastNew + 1] # l.log[lastNew + 1]
=============================================================================
