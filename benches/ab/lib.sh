# Shared by the paired before/after scripts: two servers (base, head) side by side, each
# from its own folder (an older binary finds its templates there), signed in as alice.
# Sourced; the caller sets BASE_BIN BASE_DIR HEAD_BIN HEAD_DIR and COST, PEOPLE (0..).
# Every client here is 127.0.0.1: the per-address caps are raised (an older binary ignores
# the settings it does not know).
KEY="AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
PW='correct horse battery staple 42'
W=$(mktemp -d)
trap 'for p in "$W"/*/pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done; rm -rf "$W"' EXIT
port_of() { [ "$1" = base ] && echo 18101 || echo 18102; }

# start NAME BIN DIR: creates alice and person00.. (PEOPLE of them), starts the server,
# signs alice in; leaves $W/NAME/{cookie,pre,tok}: her access cookie, a pre-session
# cookie and its form token.
start() {
  local d=$W/$1 port; port=$(port_of "$1"); mkdir -p "$d"
  local envs=(ROCKET_PROFILE=release ROCKET_DATABASE_URL=$d/db.sqlite ROCKET_DATA_DIR=$d ROCKET_PORT=$port
    ROCKET_BCRYPT_COST=$COST ROCKET_ACCESS_TOKEN_TTL=3600 ROCKET_LOG_LEVEL=off ROCKET_ENCRYPTION_KEY=$KEY ${EXTRA_ENV:-}
    ROCKET_ADDRESS_FAILURES=1000000 ROCKET_ADDRESS_IN_FLIGHT=64 ROCKET_REQUIRE_2FA=none "ROCKET_JWT_KEYS=[{kid=\"k1\",secret=\"$KEY\"}]")
  # alice first: her command migrates the new database; the others then run together.
  (cd "$3" && echo "$PW" | env "${envs[@]}" "$2" create-user alice --role user --password-stdin >/dev/null)
  local pids=() i
  for ((i = 0; i < PEOPLE; i++)); do
    (cd "$3" && echo "$PW" | env "${envs[@]}" "$2" create-user "$(printf person%02d $i)" --role user --password-stdin >/dev/null) &
    pids+=($!)
  done
  [ ${#pids[@]} -eq 0 ] || wait "${pids[@]}"
  (cd "$3" && exec env "${envs[@]}" "$2" >/dev/null 2>&1) & echo $! > "$d/pid"
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
  local page; page=$(curl -s -D "$d/h1" "http://127.0.0.1:$port/login")
  grep -i '^set-cookie:' "$d/h1" | sed 's/^[Ss]et-[Cc]ookie: //;s/;.*//' | paste -sd';' | sed 's/;/; /g' > "$d/pre"
  echo "$page" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"$//' > "$d/tok"
  curl -s -o /dev/null -D "$d/h2" -H "Cookie: $(cat "$d/pre")" --data-urlencode username=alice \
    --data-urlencode "password=$PW" --data-urlencode "csrf_token=$(cat "$d/tok")" "http://127.0.0.1:$port/login"
  grep -i '^set-cookie: __Host-access=' "$d/h2" | sed 's/^[Ss]et-[Cc]ookie: //;s/;.*//' > "$d/cookie"
}
