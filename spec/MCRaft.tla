------------------------------- MODULE MCRaft -------------------------------
(* The bounded model TLC checks: Raft.tla with model values for the servers,       *)
(* symmetry over them (a permutation of server ids maps behaviours to behaviours,  *)
(* as Node::map_node_ids does for the stateright model), and a bound on the number *)
(* of distinct messages sent, which bounds the length of the behaviours explored.  *)
EXTENDS Raft, TLC

CONSTANTS s1, s2, s3, MaxMessages

MCServer == {s1, s2, s3}
MCSymmetry == Permutations(MCServer)
MCBound == Cardinality(messages) <= MaxMessages
=============================================================================
