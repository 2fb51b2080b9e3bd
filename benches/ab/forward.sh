#!/usr/bin/env bash
# Figure 7 paired: /auth/nginx (valid access cookie, the headers nginx's auth_request
# sends) against /healthz on the same server, wrk -t2 -c32, alternating base and head.
# Also /healthz sent the same headers as /auth/nginx ("/healthz+h"): what the bigger
# request alone costs (parsing it, on both sides of loopback), apart from the answer.
# usage: forward.sh BASE_BIN BASE_DIR HEAD_BIN HEAD_DIR [rounds] [seconds]
set -euo pipefail
BASE_BIN=$1 BASE_DIR=$2 HEAD_BIN=$3 HEAD_DIR=$4 ROUNDS=${5:-3} SECS=${6:-8} COST=4 PEOPLE=0
EXTRA_ENV='ROCKET_TRUSTED_PROXIES=["127.0.0.1"]'
. "$(dirname "$0")/lib.sh"
start base "$BASE_BIN" "$BASE_DIR"
start head "$HEAD_BIN" "$HEAD_DIR"
for n in base head; do
  printf 'wrk.headers["X-Original-URL"] = "https://app.example.com/page"\nwrk.headers["X-Original-Method"] = "GET"\nwrk.headers["Cookie"] = "%s"\n' "$(cat $W/$n/cookie)" > "$W/$n/fwd.lua"
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $(cat $W/$n/cookie)" -H "X-Original-URL: https://app.example.com/page" "http://127.0.0.1:$(port_of $n)/auth/nginx")
  echo "$n /auth/nginx -> $code"
done
one() { wrk --latency -t2 -c32 -d"${SECS}s" "$@" | awk '/Requests\/sec/{r=$2} / 99%/{q=$2} END{print r, "p99", q}'; }
for r in $(seq "$ROUNDS"); do
  for n in base head; do
    p=$(port_of $n)
    f=$(one -s "$W/$n/fwd.lua" "http://127.0.0.1:$p/auth/nginx")
    h=$(one "http://127.0.0.1:$p/healthz")
    hh=$(one -s "$W/$n/fwd.lua" "http://127.0.0.1:$p/healthz")
    echo "round $r $n /auth/nginx $f; /healthz $h; /healthz+h $hh"
  done
done
