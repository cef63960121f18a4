#!/usr/bin/env bash
# End-to-end tests: `pagoda serve` driven by the official `openai` npm client.
# Usage: run.sh PATH_TO_PAGODA_BINARY
# Installs the pinned client into tests/e2e/node_modules (npm ci), then runs
# `node --test`. Without node, npm or the registry this fails loudly: a
# silent skip would hide a broken server.
set -euo pipefail

PAGODA_BIN=$(realpath "${1:?usage: run.sh PATH_TO_PAGODA_BINARY}")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$HERE"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "e2e: FAIL: '$tool' is not installed (scripts/setup.sh installs it)" >&2
    exit 1
  fi
done

if ! npm ci --no-audit --no-fund --loglevel=error >npm-install.log 2>&1; then
  cat npm-install.log >&2
  echo "e2e: FAIL: could not install the openai client from the npm registry (log above)" >&2
  exit 1
fi

MODEL=${PAGODA_E2E_MODEL:-$(cd "$HERE/../.." && pwd)/../shared/models/stories260K/stories260K.gguf}
if [ -f "$MODEL" ]; then
  echo "e2e: model $MODEL"
else
  echo "e2e: $MODEL not found; testing with the built-in demo model instead"
  MODEL=""
fi

# A hung test fails after two minutes instead of holding ctest forever.
PAGODA_BIN="$PAGODA_BIN" PAGODA_MODEL="$MODEL" exec node --test --test-concurrency=1 --test-timeout=120000 server.test.mjs structured.test.mjs
