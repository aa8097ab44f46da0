#!/usr/bin/env bash
# The whole suite, once on SQLite and once on PostgreSQL. Fails if either run fails.
set -uo pipefail
cd "$(dirname "$0")/.."

status=0
echo "=== test suite on SQLite ==="
TEST_DATABASE=sqlite .venv/bin/python -m pytest "$@" || status=1
echo "=== test suite on PostgreSQL ==="
scripts/with-postgres.sh env TEST_DATABASE=postgresql .venv/bin/python -m pytest "$@" || status=1
exit $status
