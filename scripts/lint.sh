#!/usr/bin/env bash
# The style and type gate (run by scripts/test.sh, so by .ci/run): ruff lint and format over src, tests and
# benchmarks (rules in pyproject.toml [tool.ruff.lint]) and mypy over the packages listed below (configuration in
# [tool.mypy]: the core packages with disallow_untyped_defs). Exit status non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(core catalog perf bench economics search planning market render api ui cli)
python3 -m ruff check src tests benchmarks scripts
python3 -m ruff format --check --quiet src tests benchmarks scripts
python3 -m mypy "${PKGS[@]/#/src/tokenfab/}"
