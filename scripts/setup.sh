#!/usr/bin/env bash
# Set up what digitd needs on this machine: system packages (when root on Debian)
# and a virtual environment in .venv with the requested extras. Safe to re-run:
# it only installs what is missing or what pyproject.toml changed. It says what it
# installs and how far it is; a failing step prints that step's whole output.
#   scripts/setup.sh edge            # the device half only
#   scripts/setup.sh edge,train,dev  # everything (tests, training)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-edge}"
shift || true
apt_packages=("$@")
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# Run a command; show the lines matching PATTERN as progress (none for ""), everything
# when it fails.
shown() {
  local pattern="$1" started=$SECONDS status
  shift
  set +e
  if [ -n "$pattern" ]; then
    "$@" 2>&1 | tee "$log" | { grep --line-buffered -E "$pattern" || true; } | sed -u 's/^/setup:     /'
  else
    "$@" > "$log" 2>&1
  fi
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ]; then
    echo "setup: failed (exit $status): $*" >&2
    cat "$log" >&2
    exit "$status"
  fi
  echo "setup:   done in $((SECONDS - started)) s"
}

if [ "${#apt_packages[@]}" -gt 0 ]; then
  missing=()
  for pkg in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "setup: [1/3] system packages (apt): ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      shown '' apt-get update
      shown '^Setting up ' apt-get install -y --no-install-recommends "${missing[@]}"
    else
      echo "setup: please install these Debian packages first: ${missing[*]}" >&2
      exit 1
    fi
  else
    echo "setup: [1/3] system packages: all there"
  fi
fi

python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: [2/3] creating the virtual environment .venv"
  shown '' "$python" -m venv .venv
fi
stamp=".venv/.digitd-installed-$(echo "$extras" | tr ',' '-')-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  echo "setup: [3/3] installing digitd[$extras] into .venv (the first time takes a few minutes)"
  shown '' .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip
  shown '^(Collecting|Successfully installed)' \
    .venv/bin/python -m pip install --disable-pip-version-check --progress-bar off -e ".[$extras]"
  touch "$stamp"
else
  echo "setup: [3/3] digitd[$extras] already installed in .venv"
fi
