#!/usr/bin/env bash
# The README's test command: installs the test dependencies (Python extras incl. ruff and mypy; Debian's Chromium
# for the browser tests), runs the style and type gate (scripts/lint.sh) and the test suite in tests/ (all of it,
# browser tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -e ".[test]"
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; the browser tests will fail (set TOKENFAB_SKIP_BROWSER=1 to skip them)" >&2
  fi
fi
# the style and type gate first (ruff lint + format, mypy): a finding fails the run
bash scripts/lint.sh
set +e
python3 -m pytest -q tests "$@"
rc=$?
set -e
# pytest exit 5 = no tests collected: that is a failure here (there must be tests)
exit $rc
