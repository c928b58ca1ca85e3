#!/usr/bin/env bash
# Install the project with its test needs (Python packages, Debian's Chromium for the browser
# tests) and run the whole test suite. Exit status: pytest's (non-zero when any test fails).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install Debian's chromium; browser tests will fail" >&2
  fi
fi
python -m pip install -q --disable-pip-version-check -e ".[test]"
export MPLBACKEND=Agg
python -m pytest -ra "$@"
