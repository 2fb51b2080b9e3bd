#!/usr/bin/env bash
# Figure 2 paired: /dashboard p99 (wrk -c4) while 16 clients sign in as 32 people, cost 12,
# against the same /dashboard run with no sign-ins just before it (the ratio is figure 2's
# target, <= 2); sign-ins counted as those answered 303 (not the 503s of attempts that
# waited too long for bcrypt, nor 429s).
# usage: dashboard-under-sign-ins.sh BASE_BIN BASE_DIR HEAD_BIN HEAD_DIR [rounds]
set -euo pipefail
BASE_BIN=$1 BASE_DIR=$2 HEAD_BIN=$3 HEAD_DIR=$4 ROUNDS=${5:-2} COST=12 PEOPLE=32
. "$(dirname "$0")/lib.sh"
# wrk script: each request as the next person; wrk's two threads take half the people each.
login_script() {
  cat > "$W/$1/login.lua" <<LUA
local next_thread = 0
function setup(thread) thread:set("first", next_thread * 16); next_thread = next_thread + 1 end
local n = 0
function request()
  n = (n + 1) % 16
  local body = string.format("username=person%02d&password=correct+horse+battery+staple+42&csrf_token=$(cat $W/$1/tok)", first + n)
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = "$(cat $W/$1/pre)"}, body)
end
LUA
}
start base "$BASE_BIN" "$BASE_DIR"; login_script base
start head "$HEAD_BIN" "$HEAD_DIR"; login_script head
for r in $(seq "$ROUNDS"); do
  for n in base head; do
    p=$(port_of $n)
    sleep 3 # the sign-ins of the run before have finished
    a=$(wrk --latency -t2 -c4 -d9s -H "Cookie: $(cat $W/$n/cookie)" "http://127.0.0.1:$p/dashboard" |
      awk '/ 99%/{print $2}')
    wrk -t2 -c16 -d10s --timeout 30s -s "$W/$n/login.lua" "http://127.0.0.1:$p/login" > "$W/$n/signins.txt" & wp=$!
    sleep 0.5
    d=$(wrk --latency -t2 -c4 -d9s -H "Cookie: $(cat $W/$n/cookie)" "http://127.0.0.1:$p/dashboard" |
      awk '/ 50%/{m=$2} / 99%/{q=$2} END{print "p50", m, "p99", q}')
    wait $wp
    s=$(awk '/requests in/{n=$1; t=$4+0} /Non-2xx/{e=$4} END{printf "signed in %.2f/s, refused %d", (n-e)/t, e}' "$W/$n/signins.txt")
    echo "round $r $n dash alone p99 $a; under sign-ins $d; $s"
  done
done
