#!/usr/bin/env bash
# Installs every Debian package that pagoda's build and tests need.
# Idempotent and non-interactive: packages already present are skipped, so a
# second run costs a few dpkg queries and no network.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libopenblas-dev
  nlohmann-json3-dev libcli11-dev libpcre2-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libboost-dev
  python3 python3-numpy python3-jinja2 python3-jsonschema
)
# Node.js drives the end-to-end tests (the official `openai` npm client).
# Machines of this kind ship Node.js with npm bundled; Debian's own packages
# are the fallback where they are missing.
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
