#!/usr/bin/env bash
# Every test: generated code is fresh, unit tests, end-to-end suites against a
# real cluster (`kemu up` in network namespaces, driven by the real kubectl).
# Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

fail=0
# The Docker suite's preparation (Docker installed and started, the base image, kemu:dev from this built tree:
# minutes on a clean machine) runs beside everything else from the start; test/e2e-docker waits for it. Only when
# that suite is among those run. A dockerd it starts is stopped at the end: the machine is left as it was found, but
# for the packages and the images (the cache that makes the next preparation take seconds).
docker_prep=
if [ -z "${KEMU_E2E_DOCKER_PREP:-}" ] && { [ $# -eq 0 ] || [[ "$*" == *e2e-docker* ]]; }; then
  docker_prep=$(mktemp -d /tmp/kemu-docker-prep.XXXXXX)
  export KEMU_E2E_DOCKER_PREP=$docker_prep
  (KEMU_DOCKERD_STARTED_FILE=$docker_prep/dockerd.pid bash test/e2e-docker/prepare.sh >"$docker_prep/log" 2>&1 </dev/null
    echo $? >"$docker_prep/rc") &
fi

if git rev-parse --git-dir >/dev/null 2>&1; then
  npm run --silent proto >/dev/null 2>&1 && node scripts/gen-openapi.mjs >/dev/null
  if ! git diff --quiet -- proto/src services/apiserver/src/openapi/definitions.json; then
    echo "generated code is stale: run 'npm run proto' and 'npm run gen:openapi', then commit" >&2
    git diff --stat -- proto/src services/apiserver/src/openapi/definitions.json >&2
    fail=1
  fi
fi

# Everything is type-checked, unit tests, suites and benchmarks included (vitest and tsx only
# strip types), then linted: typescript-eslint with type information, and prettier's format.
npx tsc -p tsconfig.eslint.json || fail=1
npm run --silent lint || fail=1

report=$(mktemp)
# The e2e cluster's component logs are kept until the end: on a failure, what
# the components warned about is printed, so a CI log says why.
export KEMU_E2E_LOGS=${KEMU_E2E_LOGS:-$(mktemp -d)}
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
code=$?
if [ $code -ne 0 ] && [ -d "$KEMU_E2E_LOGS" ]; then
  for f in "$KEMU_E2E_LOGS"/*.log; do
    [ -f "$f" ] || continue
    echo "--- $(basename "$f"): last warnings and errors" >&2
    grep -E '"level":(4|5|6)0|level=(warn|error)|panic|Error' "$f" | tail -n 12 | cut -c1-300 >&2
  done
fi
rm -rf "$KEMU_E2E_LOGS"
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + (r.numTodoTests || 0);
  // Where the time went: the slowest files (the suite must stay well under 40 minutes).
  const slow = r.testResults.map((f) => [f.endTime - f.startTime, f.name.replace(process.cwd() + "/", "")]);
  for (const [ms, rel] of slow.sort((a, b) => b[0] - a[0]).slice(0, 8)) console.log(`slowest: ${(ms / 1000).toFixed(0)} s ${rel}`);
  // The failed tests are named last, after the component logs, so the tail of a CI log says which.
  for (const file of r.testResults) {
    const rel = file.name.replace(process.cwd() + "/", "");
    const failed = file.assertionResults.filter((a) => a.status === "failed");
    // With the first line of why, which is all a CI log tail may keep.
    const why = (a) => ((a.failureMessages || [])[0] || "").split("\n")[0].replace(/\x1b\[[0-9;]*m/g, "").slice(0, 240);
    for (const a of failed) console.log(`FAILED ${rel} > ${a.fullName}: ${why(a)}`);
    if (!failed.length && file.status === "failed") console.log(`FAILED ${rel}: ${(file.message || "").split("\n")[0].slice(0, 300)}`);
  }
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}`);
' "$report" 2>/dev/null || echo "0 passed, 1 failed"
rm -f "$report"
if [ -n "$docker_prep" ]; then
  # Still preparing (the suite was filtered out, or failed early): let it finish rather than leave a half-built image.
  while [ ! -f "$docker_prep/rc" ]; do sleep 1; done
  case $(cat "$docker_prep/rc") in
    0 | 2) ;;
    *) echo "--- the Docker suite's preparation failed:" >&2 && tail -n 20 "$docker_prep/log" >&2 ;;
  esac
  if [ -f "$docker_prep/dockerd.pid" ]; then
    pid=$(cat "$docker_prep/dockerd.pid")
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  fi
  rm -rf "$docker_prep"
fi
[ $code -eq 0 ] && [ $fail -eq 0 ]
