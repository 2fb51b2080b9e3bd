#!/usr/bin/env bash
# Figure 2 paired: /dashboard p99 (wrk -c4) while 16 clients sign in as 32 people, cost 12.
# usage: dashboard-under-sign-ins.sh BASE_BIN BASE_DIR HEAD_BIN HEAD_DIR [rounds]
set -uo pipefail
BASE_BIN=$1 BASE_DIR=$2 HEAD_BIN=$3 HEAD_DIR=$4 ROUNDS=${5:-2}
KEY="AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
W=$(mktemp -d)
trap 'for p in "$W"/*/pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done; rm -rf "$W"' EXIT
PW='correct horse battery staple 42'
start() { # name bin cwd port
  local d=$W/$1; mkdir -p $d
  local envs=(ROCKET_PROFILE=release ROCKET_DATABASE_URL=$d/db.sqlite ROCKET_DATA_DIR=$d ROCKET_PORT=$4
    ROCKET_BCRYPT_COST=12 ROCKET_ACCESS_TOKEN_TTL=3600 ROCKET_LOG_LEVEL=off ROCKET_ENCRYPTION_KEY=$KEY
    ROCKET_ADDRESS_FAILURES=1000000 ROCKET_REQUIRE_2FA=none "ROCKET_JWT_KEYS=[{kid=\"k1\",secret=\"$KEY\"}]")
  (cd $3 && echo "$PW" | env "${envs[@]}" $2 create-user alice --role user --password-stdin >/dev/null)
  local pids=()
  for i in $(seq -w 0 31); do
    (cd $3 && echo "$PW" | env "${envs[@]}" $2 create-user person$i --role user --password-stdin >/dev/null 2>>$d/create.err) & pids+=($!); done
  wait "${pids[@]}"
  (cd $3 && exec env "${envs[@]}" $2 >/dev/null 2>&1) & echo $! > $d/pid
  for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$4/healthz && break; sleep 0.1; done
  local page; page=$(curl -s -D $d/h1 http://127.0.0.1:$4/login)
  local pre; pre=$(grep -i '^set-cookie:' $d/h1 | sed 's/^[Ss]et-[Cc]ookie: //;s/;.*//' | paste -sd';' | sed 's/;/; /g')
  local tok; tok=$(echo "$page" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"$//')
  curl -s -o /dev/null -D $d/h2 -H "Cookie: $pre" --data-urlencode username=alice --data-urlencode "password=$PW" --data-urlencode csrf_token=$tok http://127.0.0.1:$4/login
  grep -i '^set-cookie: __Host-access=' $d/h2 | sed 's/^[Ss]et-[Cc]ookie: //;s/;.*//' > $d/cookie
  cat > $d/login.lua <<LUA
local next_thread = 0
function setup(thread) thread:set("first", next_thread * 16); next_thread = next_thread + 1 end
local n = 0
function request()
  n = (n + 1) % 16
  local body = string.format("username=person%02d&password=correct+horse+battery+staple+42&csrf_token=$tok", first + n)
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = "$pre"}, body)
end
LUA
}
start base $BASE_BIN $BASE_DIR 18101
start head $HEAD_BIN $HEAD_DIR 18102
for r in $(seq $ROUNDS); do
  for n in base head; do c=$(cat $W/$n/cookie); p=$([ $n = base ] && echo 18101 || echo 18102)
    sleep 3
    wrk -t2 -c16 -d10s --timeout 30s -s $W/$n/login.lua http://127.0.0.1:$p/login > $W/$n/signins.txt & wp=$!
    sleep 0.5
    d=$(wrk --latency -t2 -c4 -d9s -H "Cookie: $c" http://127.0.0.1:$p/dashboard | awk '/Requests\/sec/{r=$2} / 50%/{m=$2} / 99%/{q=$2} END{print "dash p50", m, "p99", q}')
    wait $wp
    s=$(awk '/Requests\/sec/{r=$2} /Non-2xx/{e=$4} END{print "signins/s", r, "non2xx", e+0}' $W/$n/signins.txt)
    echo "round $r $n $d; $s"; done; done
for n in base head; do kill $(cat $W/$n/pid) 2>/dev/null || true; done
