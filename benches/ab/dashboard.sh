#!/usr/bin/env bash
# Paired A/B of GET /dashboard (valid access cookie), wrk -t2 -c32, alternating runs.
# Example: build the older commit in a worktree (cargo build --release there), then
#   benches/ab/dashboard.sh OLD/target/release/gatehouse OLD NEW/target/release/gatehouse NEW 4 8
# usage: dashboard.sh BASE_BIN BASE_DIR HEAD_BIN HEAD_DIR [rounds] [seconds]
set -euo pipefail
BASE_BIN=$1 BASE_DIR=$2 HEAD_BIN=$3 HEAD_DIR=$4 ROUNDS=${5:-3} SECS=${6:-8} COST=4 PEOPLE=0
. "$(dirname "$0")/lib.sh"
start base "$BASE_BIN" "$BASE_DIR"
start head "$HEAD_BIN" "$HEAD_DIR"
for n in base head; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $(cat $W/$n/cookie)" "http://127.0.0.1:$(port_of $n)/dashboard")
  echo "$n /dashboard -> $code"
done
for r in $(seq "$ROUNDS"); do
  for n in base head; do
    rps=$(wrk --latency -t2 -c32 -d"${SECS}s" -H "Cookie: $(cat $W/$n/cookie)" "http://127.0.0.1:$(port_of $n)/dashboard" |
      awk '/Requests\/sec/{r=$2} / 99%/{q=$2} END{print r, "p99", q}')
    echo "round $r $n $rps"
  done
done
