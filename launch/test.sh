#!/usr/bin/env bash
# Sets up .venv if needed, then runs the test suite (~6 min on 2 CPU cores). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/setup.sh
set +e
.venv/bin/python -m pytest -q "$@"
code=$?
set -e
if [ $code -eq 5 ]; then
  echo "pytest collected no tests: check the arguments ($*) and the tests/ folder." >&2
fi
exit $code
