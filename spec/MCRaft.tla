------------------------------- MODULE MCRaft -------------------------------
(* The bounded model TLC checks: Raft.tla with model values for the servers,      *)
(* symmetry over them (a permutation of server ids maps behaviours to behaviours, *)
(* as Node::map_node_ids does for the stateright model), and two state            *)
(* constraints: at most MaxMessages distinct messages sent, and at most           *)
(* MaxElections elections started, in all. Both are read off the message history, *)
(* so they need Duplication = TRUE (delivery keeps the message).                  *)
EXTENDS RaftProperties, TLC

CONSTANTS s1, s2, s3, MaxMessages, MaxElections

ASSUME Duplication

MCServer == {s1, s2, s3}
MCSymmetry == Permutations(MCServer)

\* Every election started sends RequestVote to each peer; (candidate, term) names it.
ElectionsStarted ==
    {<<m.msrc, m.mterm>> : m \in {m \in messages : m.mtype = "RequestVote"}}

MCBound ==
    /\ Cardinality(messages) <= MaxMessages
    /\ Cardinality(ElectionsStarted) <= MaxElections
=============================================================================
