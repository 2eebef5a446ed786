#!/usr/bin/env bash
# librdkafka's own integration test suite (Debian's librdkafka 2.0.2 source) against a Courant broker.
#
#   scripts/librdkafka-suite.sh setup              install build deps (apt), fetch the source, build the
#                                                  test runner; cached, a no-op once built
#   scripts/librdkafka-suite.sh status             "ready <dir>" or "missing <what>" (exit 0 / 1)
#   scripts/librdkafka-suite.sh list               every test entry: "<num> <name> <flags> scenario=<s>"
#   scripts/librdkafka-suite.sh run [opts] NUM...  run tests one by one, one line each:
#                                                  "<num> PASS|FAIL|SKIP <seconds>s <detail>"
#   scripts/librdkafka-suite.sh allow [opts]       run test/compat/librdkafka-suite/tests.allow
#   scripts/librdkafka-suite.sh all [opts]         run every numbered test (a report to refresh the list)
#
# run/allow/all options:
#   -b HOST:PORT   bootstrap address of a running broker (default: start a fresh broker on a temp dir)
#   -t SECONDS     per-test timeout (default 300)
#   -l DIR         where per-test logs go (default $CACHE/logs)
#   -f FILE        test list file for `allow` (default test/compat/librdkafka-suite/tests.allow)
#   -s SCENARIO    librdkafka scenario: default, or noautocreate (own broker: --no-auto-create-topics)
#   -S MECHANISM   connect with SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) as $COURANT_SASL_USER /
#                  $COURANT_SASL_PASSWORD (default courant / courant-secret; own broker: --users)
#
# Environment: COURANT_CACHE (default ~/.cache/courant), TEST_KAFKA_VERSION (default 3.9.0, the
# protocol version the broker's codecs are generated from), RDKAFKA_SUITE_ARGS (default "-L": broker
# tests only; socket-emulation tests included, sockem proxies the real connection; NOT -Q: quick mode
# skips every SUB_TEST() not marked quick, so many tests "pass" without doing anything),
# TEST_MAX_REPLICATION_FACTOR (default 1, see patches/), SUBTESTS (librdkafka's sub-test filter),
# COURANT_BROKER_ARGS (extra `broker start` flags).
#
# Build: only tests/ is compiled; it links against Debian's librdkafka 2.0.2 shared library
# (librdkafka-dev), the same library kcat and python3-confluent-kafka use. No source lands in the repo.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${COURANT_CACHE:-$HOME/.cache/courant}/librdkafka"
VERSION="2.0.2"
SRC="$CACHE/librdkafka-$VERSION"
TESTS_DIR="$SRC/tests"
RUNNER="$TESTS_DIR/test-runner"
STAMP="$CACHE/.built-$VERSION"
ALLOW_DEFAULT="$ROOT/test/compat/librdkafka-suite/tests.allow"
PATCH_DIR="$ROOT/test/compat/librdkafka-suite/patches"
DEPS=(dpkg-dev patch build-essential librdkafka-dev libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev rapidjson-dev python3)

log() { printf '%s\n' "librdkafka-suite: $*" >&2; }
die() {
  log "error: $*"
  exit 2
}

sudo_cmd() {
  if [[ "$(id -u)" -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

install_deps() {
  local missing=()
  for p in "${DEPS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get"
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive sudo_cmd apt-get install -y -qq "${missing[@]}" >"$CACHE/apt.log" 2>&1 ||
    die "apt-get install ${missing[*]} failed (see $CACHE/apt.log)"
}

fetch_source() {
  [[ -f "$SRC/tests/test.c" ]] && return 0
  log "fetching source: apt-get source librdkafka (deb-src must be enabled) into $CACHE"
  # apt-get source writes into the current directory.
  (cd "$CACHE" && apt-get source librdkafka >"$CACHE/source.log" 2>&1) ||
    die "apt-get source librdkafka failed (see $CACHE/source.log; is a deb-src line in /etc/apt/sources.list.d?)"
  [[ -f "$SRC/tests/test.c" ]] || die "expected $SRC after apt-get source (other version? see $CACHE/source.log)"
}

# Our small patches to the suite (see each file's header), applied once to the cached source.
apply_patches() {
  local p name
  for p in "$PATCH_DIR"/*.patch; do
    [[ -f "$p" ]] || continue
    name="$(basename "$p")"
    [[ -f "$SRC/.courant-$name" ]] && continue
    log "applying $name"
    patch -p1 --forward -d "$SRC" <"$p" >>"$CACHE/patch.log" 2>&1 || die "patch $name failed (see $CACHE/patch.log)"
    touch "$SRC/.courant-$name"
    rm -f "$STAMP"
  done
}

patches_applied() {
  local p
  for p in "$PATCH_DIR"/*.patch; do
    [[ -f "$p" ]] || continue
    [[ -f "$SRC/.courant-$(basename "$p")" ]] || return 1
  done
}

build_runner() {
  if [[ -f "$STAMP" && -x "$RUNNER" ]]; then return 0; fi
  log "building the test runner (tests/ only, about 2 min on 2 cores; log: $CACHE/build.log)"
  local t0=$SECONDS
  (
    cd "$SRC"
    # configure only generates Makefile.config/config.h (it finds RapidJSON, which the statistics tests
    # 0053/0110 need); the library itself is not built.
    # Re-run only when our configure options change (a re-run rewrites config.h: full rebuild).
    local cfg="--disable-curl"
    if [[ "$(cat .courant-configured 2>/dev/null)" != "$cfg rapidjson" ]]; then
      ./configure $cfg
      echo "$cfg rapidjson" >.courant-configured
    fi
    # test.o depends on ../src/librdkafka.a: -o treats it as up to date, and the runner links against
    # the system librdkafka.so.1 / librdkafka++.so.1 instead.
    make -j"$(nproc)" -C tests -o ../src/librdkafka.a -o ../src-cpp/librdkafka++.a build
  ) >"$CACHE/build.log" 2>&1 || die "build failed (see $CACHE/build.log)"
  date -u +%FT%TZ >"$STAMP"
  log "built $RUNNER in $((SECONDS - t0)) s"
}

cmd_setup() {
  mkdir -p "$CACHE"
  install_deps
  fetch_source
  apply_patches
  build_runner
  echo "ready $TESTS_DIR"
}

cmd_status() {
  if [[ -f "$STAMP" && -x "$RUNNER" ]] && patches_applied; then
    echo "ready $TESTS_DIR"
  elif [[ ! -f "$SRC/tests/test.c" ]]; then
    echo "missing source ($SRC): run scripts/librdkafka-suite.sh setup"
    return 1
  elif ! patches_applied; then
    echo "missing patches from $PATCH_DIR: run scripts/librdkafka-suite.sh setup"
    return 1
  else
    echo "missing build ($RUNNER): run scripts/librdkafka-suite.sh setup"
    return 1
  fi
}

cmd_list() {
  [[ -f "$SRC/tests/test.c" ]] || die "no source: run setup first"
  # Test table of test.c: _TEST(0012_produce_consume, 0), _TEST(0022_consume_batch_local, TEST_F_LOCAL),
  # entries may span lines.
  python3 - "$SRC/tests/test.c" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
for m in re.finditer(r"_TEST\(\s*(\d{4})(_\w+)\s*,", src):
    depth, k = 1, m.end()
    while depth and k < len(src):
        depth += {"(": 1, ")": -1}.get(src[k], 0)
        k += 1
    body = src[m.end():k - 1]
    flags = re.sub(r"\s+", "", body.split(",")[0]) or "0"
    sc = re.search(r'\.scenario\s*=\s*"([^"]*)"', body)
    print(m.group(1), m.group(1) + m.group(2), flags, "scenario=" + (sc.group(1) if sc else "default"))
PY
}

BOOTSTRAP=""
TIMEOUT=300
LOGDIR="$CACHE/logs"
LISTFILE="$ALLOW_DEFAULT"
SCENARIO="default"
SASL_MECH=""
SASL_USER="${COURANT_SASL_USER:-courant}"
SASL_PASSWORD="${COURANT_SASL_PASSWORD:-courant-secret}"
BROKER_PID=""
BROKER_DATA=""

stop_broker() {
  if [[ -n "$BROKER_PID" ]]; then
    kill "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
  fi
  [[ -n "$BROKER_DATA" ]] && rm -rf "$BROKER_DATA"
  return 0
}

start_broker() {
  BROKER_DATA="$(mktemp -d "${TMPDIR:-/tmp}/courant-rdk-suite.XXXXXX")"
  local users=""
  if [[ -n "$SASL_MECH" ]]; then
    printf '{"users":[{"name":"%s","password":"%s"}]}\n' "$SASL_USER" "$SASL_PASSWORD" >"$BROKER_DATA/users.json"
    users="--users $BROKER_DATA/users.json"
  fi
  export PATH="$ROOT/node_modules/.bin:$PATH"
  # shellcheck disable=SC2086
  node "$ROOT/bin/courant.js" broker start --data "$BROKER_DATA/data" --port 0 --http-port 0 \
    --partitions 4 $([[ $SCENARIO == noautocreate ]] && echo --no-auto-create-topics) $users \
    ${COURANT_BROKER_ARGS:-} >"$LOGDIR/broker.log" 2>&1 &
  BROKER_PID=$!
  trap stop_broker EXIT
  # `broker start` prints "courant broker listening on HOST:PORT ..." once it accepts connections;
  # wait for it, bounded (30 s).
  local i addr
  for i in $(seq 1 300); do
    addr="$(grep -soE 'listening on [^ ]+:[0-9]+' "$LOGDIR/broker.log" | head -1 | cut -d' ' -f3 || true)"
    if [[ -n "$addr" ]]; then
      BOOTSTRAP="$addr"
      log "broker pid $BROKER_PID on $BOOTSTRAP (log: $LOGDIR/broker.log)"
      return 0
    fi
    kill -0 "$BROKER_PID" 2>/dev/null || die "broker exited at start: $(tail -5 "$LOGDIR/broker.log")"
    sleep 0.1
  done
  die "broker did not print its address within 30 s (see $LOGDIR/broker.log)"
}

parse_opts() {
  OPTIND=1
  while getopts "b:t:l:f:s:S:" o; do
    case "$o" in
    b) BOOTSTRAP="$OPTARG" ;;
    t) TIMEOUT="$OPTARG" ;;
    l) LOGDIR="$OPTARG" ;;
    f) LISTFILE="$OPTARG" ;;
    s) SCENARIO="$OPTARG" ;;
    S) SASL_MECH="$OPTARG" ;;
    *) die "unknown option" ;;
    esac
  done
}

# One test number: PASS when the test runner exits 0 and at least one broker test entry of that number
# PASSED; SKIP when it exits 0 but every entry was skipped (version, scenario, needs RapidJSON...).
run_one() {
  local num="$1" logf="$LOGDIR/$1$([[ $SCENARIO != default ]] && echo ".$SCENARIO")${SASL_MECH:+.$SASL_MECH}.log" t0=$SECONDS rc=0 verdict detail
  (
    cd "$TESTS_DIR"
    # shellcheck disable=SC2086
    TESTS="$num" RDKAFKA_TEST_CONF="$LOGDIR/test.conf" TEST_KAFKA_VERSION="${TEST_KAFKA_VERSION:-3.9.0}" \
      TEST_MAX_REPLICATION_FACTOR="${TEST_MAX_REPLICATION_FACTOR:-1}" \
      timeout -k 10 "$TIMEOUT" ./test-runner -p1 -s "$SCENARIO" ${RDKAFKA_SUITE_ARGS:--L}
  ) >"$logf" 2>&1 || rc=$?
  # Summary rows look like: "| 0012_produce_consume  |     PASSED |   4.123s | ..." (possibly coloured)
  local rows
  rows="$(sed -E 's/\x1b\[[0-9;]*m//g' "$logf" | grep -E "^\| ${num}_[A-Za-z0-9_]+ +\| +[A-Z]+ " || true)"
  if [[ $rc -ne 0 ]]; then
    verdict=FAIL
    # The first failure: '### Test "NAME (subtest)" failed at FILE:LINE:FUNC() at DATE: ###' + reason
    # (the suite's own per-test timeouts are reported this way too).
    detail="$(sed -E 's/\x1b\[[0-9;]*m//g' "$logf" | grep -m1 -A1 -E '^### Test ' |
      sed -E 's/ at [A-Z][a-z]{2} [A-Z][a-z]{2} .*: ###$//; s/^### //' | paste -sd' ' | cut -c1-300 || true)"
    if [[ -z "$detail" && ($rc -eq 124 || $rc -eq 137) ]]; then
      detail="killed by the ${TIMEOUT}s timeout of this script"
    elif [[ -z "$detail" ]]; then
      detail="exit $rc: $(tail -c 200 "$logf" | tr '\n' ' ')"
    fi
  elif grep -qE '\| +PASSED ' <<<"$rows"; then
    verdict=PASS
    # Sub-tests that ran and passed ("[ do_test_x:123: PASS (1.20s) ]"), so a vacuous pass shows.
    local subs
    subs="$(sed -E 's/\x1b\[[0-9;]*m//g' "$logf" | grep -cE '^\[.*\[ .*: PASS \([0-9.]+s\) \]' || true)"
    detail="$(awk -F'|' '{gsub(/ /,"",$2); gsub(/ /,"",$3); printf "%s=%s ", $2, $3}' <<<"$rows")subtests_passed=$subs"
  else
    verdict=SKIP
    detail="$(sed -E 's/\x1b\[[0-9;]*m//g' "$logf" | grep -m1 -iE 'skip' | cut -c1-200 || true)"
  fi
  printf '%s %s %ss %s\n' "$num" "$verdict" "$((SECONDS - t0))" "$detail"
  [[ $verdict != FAIL ]]
}

cmd_run() {
  parse_opts "$@"
  shift $((OPTIND - 1))
  [[ $# -gt 0 ]] || die "run: give test numbers (e.g. 0012 0030)"
  cmd_status >/dev/null || die "$(cmd_status)"
  mkdir -p "$LOGDIR"
  [[ -n "$BOOTSTRAP" ]] || start_broker
  printf 'bootstrap.servers=%s\nbroker.address.family=v4\n' "$BOOTSTRAP" >"$LOGDIR/test.conf"
  if [[ -n "$SASL_MECH" ]]; then
    printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=%s\nsasl.username=%s\nsasl.password=%s\n' \
      "$SASL_MECH" "$SASL_USER" "$SASL_PASSWORD" >>"$LOGDIR/test.conf"
  fi
  local pass=0 fail=0 skip=0 line
  for num in "$@"; do
    if line="$(run_one "$num")"; then
      [[ $line == *" SKIP "* ]] && skip=$((skip + 1)) || pass=$((pass + 1))
    else
      fail=$((fail + 1))
    fi
    echo "$line"
  done
  echo "summary: pass $pass, fail $fail, skip $skip (logs in $LOGDIR)"
  [[ $fail -eq 0 ]]
}

# All of main is one function called from one line, so editing this file while it runs is safe.
main() {
  local cmd=${1:-}
  [[ -n "$cmd" ]] && shift
  case "$cmd" in
  setup) cmd_setup ;;
  status) cmd_status ;;
  list) cmd_list ;;
  run) cmd_run "$@" ;;
  allow)
    # Three passes: tests tagged `noautocreate` need a broker without topic auto-creation, tests
    # tagged `sasl` one with SASL users (their own brokers; -b applies to the first pass only).
    parse_opts "$@"
    local rc=0 def nac sasl entries
    entries="$(grep -E '^[0-9]{4}' "$LISTFILE" | sed 's/#.*//')"
    def="$(grep -vE 'noautocreate|sasl' <<<"$entries" | cut -c1-4 | paste -sd' ' || true)"
    nac="$(grep noautocreate <<<"$entries" | cut -c1-4 | paste -sd' ' || true)"
    sasl="$(grep sasl <<<"$entries" | cut -c1-4 | paste -sd' ' || true)"
    # shellcheck disable=SC2086
    [[ -z "$def" ]] || "$0" run ${BOOTSTRAP:+-b "$BOOTSTRAP"} -t "$TIMEOUT" -l "$LOGDIR" $def || rc=1
    # shellcheck disable=SC2086
    [[ -z "$nac" ]] || "$0" run -s noautocreate -t "$TIMEOUT" -l "$LOGDIR" $nac || rc=1
    # shellcheck disable=SC2086
    [[ -z "$sasl" ]] || "$0" run -S SCRAM-SHA-256 -t "$TIMEOUT" -l "$LOGDIR" $sasl || rc=1
    return $rc
    ;;
  all)
    parse_opts "$@"
    local rc=0
    # shellcheck disable=SC2046
    "$0" run ${BOOTSTRAP:+-b "$BOOTSTRAP"} -t "$TIMEOUT" -l "$LOGDIR" $(cmd_list | cut -d' ' -f1 | sort -u) || rc=1
    # shellcheck disable=SC2046
    "$0" run -s noautocreate -t "$TIMEOUT" -l "$LOGDIR" $(cmd_list | grep -i noautocreate | cut -d' ' -f1 | sort -u) || rc=1
    return $rc
    ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
    [[ -z "$cmd" ]] && exit 0 || exit 2
    ;;
  esac
}

main "$@"
exit $?
