#!/usr/bin/env bash
# The test suite, offline: `make test` runs this (and .ci/run runs `make test`).
#
# As root (CI), the project's services are started first (scripts/services.sh up: PostgreSQL, an
# MLflow server on it, a two-node Ray cluster, all in one loopback-only network namespace), the whole
# suite runs inside that namespace, so it proves that nothing reaches off the machine, and the
# tests marked `services` run against the real services; the services are stopped afterwards
# (unless they were already up before). Elsewhere, or with CPT_SEARCH_TEST_SERVICES=0, the suite
# runs through scripts/offline.sh and the `services` tests are skipped with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${VENV:-.venv}/bin/python"
[ $# -gt 0 ] || set -- tests  # arguments, when given, name what to run instead (e.g. tests/services)
can_namespace() { [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v nsenter >/dev/null \
  && command -v ip >/dev/null && unshare --net true 2>/dev/null; }

if [ "${CPT_SEARCH_TEST_SERVICES:-1}" = 0 ] || ! can_namespace; then
  echo "test.sh: without the services (needs root; CPT_SEARCH_TEST_SERVICES=${CPT_SEARCH_TEST_SERVICES:-1}):" \
       "the tests marked 'services' are skipped" >&2
  exec scripts/offline.sh "$PY" -m pytest -q "$@"
fi
started=0
if ! scripts/services.sh status >/dev/null 2>&1; then
  started=1
  trap 'scripts/services.sh down || true' EXIT
  scripts/services.sh up >/dev/null
fi
echo "test.sh: running the suite inside the services' loopback-only network namespace" >&2
set +e
scripts/services.sh exec "$PY" -m pytest -q "$@"
rc=$?
set -e
[ "$started" = 1 ] || echo "test.sh: the services were up before; left running (scripts/services.sh down)" >&2
exit $rc
