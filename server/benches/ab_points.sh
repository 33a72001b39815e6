#!/bin/bash
# Alternated single load points of two `refraft` server binaries under one cluster-bench binary,
# so that a before/after comparison sees the same machine load:
#
#   server/benches/ab_points.sh BEFORE_BIN AFTER_BIN [ROUNDS]
#
# Build the bench first (`cargo bench -p refraft-server --bench cluster --no-run`). The bench
# starts target/release/refraft; this script copies BEFORE_BIN and AFTER_BIN there in turn
# (order before/after, then after/before, ...), at 1 and then 64 clients, 4 s each, and leaves
# AFTER_BIN in place. With BEFORE_BENCH=PATH in the environment, the "before" runs use that
# bench binary instead (to compare two load generators: give the same server binary twice).
set -euo pipefail
before=$1
after=$2
rounds=${3:-3}
root=$(git rev-parse --show-toplevel)
bench=$(ls -t "$root"/target/release/deps/cluster-* | grep -v '\.d$' | head -1)
before_bench=${BEFORE_BENCH:-$bench}
server=$root/target/release/refraft
for round in $(seq "$rounds"); do
  if ((round % 2)); then order="before after"; else order="after before"; fi
  for clients in 1 64; do
    for v in $order; do
      if [ "$v" = before ]; then cp "$before" "$server"; b=$before_bench; else cp "$after" "$server"; b=$bench; fi
      echo "round $round $v load $(cut -d' ' -f1 /proc/loadavg): $(REFRAFT_BENCH_POINT=$clients:4 "$b" --bench)"
    done
  done
done
cp "$after" "$server"
