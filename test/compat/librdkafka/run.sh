#!/usr/bin/env bash
# Runs librdkafka 2.0.2's own integration test suite against a Courant broker.
#
#   test/compat/librdkafka/run.sh            tests in tests.allow (must all pass; exit 1 otherwise)
#   test/compat/librdkafka/run.sh --all      every numbered test, one by one: a report to refresh the allow-list
#   TESTS_TIMEOUT=120 LIBRDKAFKA_SRC=/path/to/librdkafka-2.0.2 ...
#
# Without LIBRDKAFKA_SRC it fetches the Debian source (apt-get source librdkafka; deb-src must be
# enabled) into $WORK and builds the test runner (about 2 min on 2 cores).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
WORK="${WORK:-/tmp/courant-librdkafka}"
MODE="${1:-allow}"
PORT="${PORT:-19577}"
TIMEOUT="${TESTS_TIMEOUT:-180}"
export PATH="$ROOT/node_modules/.bin:$PATH"

if [[ -z "${LIBRDKAFKA_SRC:-}" ]]; then
  mkdir -p "$WORK"
  if [[ ! -d "$WORK/librdkafka-2.0.2" ]]; then
    (cd "$WORK" && apt-get source librdkafka >/dev/null)
  fi
  LIBRDKAFKA_SRC="$WORK/librdkafka-2.0.2"
fi
T="$LIBRDKAFKA_SRC/tests"
if [[ ! -x "$T/test-runner" ]]; then
  (cd "$LIBRDKAFKA_SRC" && ./configure --disable-curl --disable-sasl >/dev/null && make -j2 libs >/dev/null && make -j2 -C tests build >/dev/null)
fi

DATA="$(mktemp -d)"
LOG="$WORK/broker.log"
mkdir -p "$WORK"
COURANT_LOG_LEVEL=warn node "$ROOT/bin/courant.js" broker start --data "$DATA" --port "$PORT" --http-port 0 --partitions 4 >"$LOG" 2>&1 &
BROKER=$!
trap 'kill $BROKER 2>/dev/null || true; wait $BROKER 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do
  grep -q "listening" "$LOG" 2>/dev/null && break
  sleep 0.1
done
printf 'bootstrap.servers=127.0.0.1:%s\nbroker.address.family=v4\n' "$PORT" >"$T/test.conf"

if [[ "$MODE" == "--all" ]]; then
  LIST=$(cd "$T" && ls [0-9][0-9][0-9][0-9]-*.c [0-9][0-9][0-9][0-9]-*.cpp 2>/dev/null | cut -c1-4 | sort -u)
else
  LIST=$(grep -E '^[0-9]{4}' "$HERE/tests.allow" | cut -c1-4)
fi

pass=0
fail=0
RESULTS="$WORK/results.txt"
: >"$RESULTS"
for t in $LIST; do
  start=$(date +%s)
  if (cd "$T" && TESTS=$t timeout "$TIMEOUT" ./test-runner -p1 -Q -E -L -V 3.9.0 >"$WORK/$t.log" 2>&1); then
    # passed when at least one broker test of the file passed (local-only subtests are filtered by -L)
    if grep -E '^\|.*PASSED' "$WORK/$t.log" | grep -vq '<MAIN>'; then
      r=PASS
      pass=$((pass + 1))
    else
      r=SKIP
    fi
  else
    r=FAIL
    fail=$((fail + 1))
  fi
  echo "$t $r $(($(date +%s) - start))s" | tee -a "$RESULTS"
done
echo "passed $pass, failed $fail (logs in $WORK)"
[[ "$MODE" == "--all" || $fail -eq 0 ]]
