#!/usr/bin/env bash
# Paired A/B of GET /dashboard (valid access cookie), wrk -t2 -c32, alternating runs.
# Example: build the older commit in a worktree (cargo build --release there), then
#   benches/ab/dashboard.sh OLD/target/release/gatehouse OLD NEW/target/release/gatehouse NEW 4 8
# (each binary runs from its own folder, so an older one finds its templates).
# usage: dashboard.sh BASE_BIN BASE_DIR HEAD_BIN HEAD_DIR [rounds] [seconds]
set -euo pipefail
BASE_BIN=$1 BASE_DIR=$2 HEAD_BIN=$3 HEAD_DIR=$4 ROUNDS=${5:-3} SECS=${6:-8}
KEY="AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
W=$(mktemp -d)
trap 'for p in "$W"/*/pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done; rm -rf "$W"' EXIT
start() { # name bin cwd port
  local d=$W/$1; mkdir -p $d
  local envs=(ROCKET_PROFILE=release ROCKET_DATABASE_URL=$d/db.sqlite ROCKET_DATA_DIR=$d ROCKET_PORT=$4
    ROCKET_BCRYPT_COST=4 ROCKET_ACCESS_TOKEN_TTL=3600 ROCKET_LOG_LEVEL=off ROCKET_ENCRYPTION_KEY=$KEY
    ROCKET_REQUIRE_2FA=none "ROCKET_JWT_KEYS=[{kid=\"k1\",secret=\"$KEY\"}]")
  (cd $3 && echo 'correct horse battery staple 42' | env "${envs[@]}" $2 create-user alice --role user --password-stdin >/dev/null)
  (cd $3 && exec env "${envs[@]}" $2 >/dev/null 2>&1) & echo $! > $d/pid
  for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$4/healthz && break; sleep 0.1; done
  local page; page=$(curl -s -D $d/h1 http://127.0.0.1:$4/login)
  local pre; pre=$(grep -i '^set-cookie:' $d/h1 | sed 's/^[Ss]et-[Cc]ookie: //;s/;.*//' | paste -sd';' | sed 's/;/; /g')
  local tok; tok=$(echo "$page" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"$//')
  curl -s -o /dev/null -D $d/h2 -H "Cookie: $pre" --data-urlencode username=alice --data-urlencode 'password=correct horse battery staple 42' --data-urlencode csrf_token=$tok http://127.0.0.1:$4/login
  grep -i '^set-cookie: __Host-access=' $d/h2 | sed 's/^[Ss]et-[Cc]ookie: //;s/;.*//' > $d/cookie
}
start base $BASE_BIN $BASE_DIR 18101
start head $HEAD_BIN $HEAD_DIR 18102
for n in base head; do c=$(cat $W/$n/cookie); p=$([ $n = base ] && echo 18101 || echo 18102)
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $c" http://127.0.0.1:$p/dashboard); echo "$n /dashboard -> $code"; done
for r in $(seq $ROUNDS); do
  for n in base head; do c=$(cat $W/$n/cookie); p=$([ $n = base ] && echo 18101 || echo 18102)
    rps=$(wrk --latency -t2 -c32 -d${SECS}s -H "Cookie: $c" http://127.0.0.1:$p/dashboard | awk '/Requests\/sec/{r=$2} / 99%/{q=$2} END{print r, "p99", q}')
    echo "round $r $n $rps"; done; done
for n in base head; do kill $(cat $W/$n/pid) 2>/dev/null || true; done
