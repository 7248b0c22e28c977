#!/usr/bin/env bash
# Seconds from `git clone` to /health answering 200 under `make run`, as a newcomer
# sees it (docs/contributors.md "The first run"). Usage: PORT=18700 bin/first_run_time.sh [repository]
# The clone goes to a temporary folder, removed afterwards with its .venv.
set -euo pipefail
source=$(cd "${1:-.}" && pwd)
port=${PORT:-8000}
work=$(mktemp -d)
leader=""
finish() {
  if [ -n "$leader" ]; then kill -- "-$leader" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap finish EXIT

start=$(date +%s.%N)
git clone -q "$source" "$work/gatehouse"
cd "$work/gatehouse"
# Its own process group, so that runserver and its reloader stop with it.
setsid env PORT="$port" make run >"$work/run.log" 2>&1 &
leader=$!
until curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null; do
  if ! kill -0 "$leader" 2>/dev/null; then
    tail -n 30 "$work/run.log" >&2
    echo "make run exited before /health answered" >&2
    exit 1
  fi
  sleep 0.2
done
end=$(date +%s.%N)
printf '%.1f s from git clone to /health 200 (.venv: %s)\n' \
  "$(echo "$end - $start" | bc)" "$(du -sh .venv | cut -f1)"
