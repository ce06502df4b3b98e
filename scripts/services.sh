#!/usr/bin/env bash
# The project's services on one machine, on loopback only: PostgreSQL, an MLflow tracking server
# backed by it (proxied artifacts) and a Ray cluster of a head and one worker node.
#
#   scripts/services.sh up              start them (idempotent); prints KEY=VALUE lines to stdout
#   scripts/services.sh env             print those lines again
#   scripts/services.sh exec CMD...     run CMD inside the services' network namespace, with that env
#   scripts/services.sh status          what runs, and every listening socket of the namespace
#   scripts/services.sh down            stop exactly what `up` started (by pid), remove the namespace
#   scripts/services.sh stop|start|restart postgres|mlflow|ray-worker
#                                       one service (the fault tests kill a Ray node and restart
#                                       PostgreSQL with these)
#
# Everything runs inside one loopback-only network namespace, held by a `sleep` process
# (`unshare --net`, then `ip link set lo up`): a multi-node Ray cluster on one machine otherwise
# binds the machine's own address whatever --node-ip-address says (shared/STACK.md measurements
# are the project's), and only processes inside the namespace can reach the services. So use them
# through `exec`:
#
#   scripts/services.sh up
#   scripts/services.sh exec .venv/bin/cpt-search run search_spaces/quickstart.yaml
#
# Every process in the namespace was started by this script (or by a command given to `exec`), so
# `down` stops exactly those: it finds them by their network namespace, never by name. State lives
# in $CPT_SEARCH_SERVICES_DIR (default .services/ in the checkout): the PostgreSQL data directory,
# MLflow artifacts, logs, pid files. Needs root (network namespaces; PostgreSQL runs as the
# `postgres` user, Debian's package is installed when missing).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="${CPT_SEARCH_SERVICES_DIR:-$ROOT/.services}"
PY="${CPT_SEARCH_PYTHON:-$ROOT/.venv/bin/python}"
PG_PORT="${CPT_SEARCH_PG_PORT:-55432}"
MLFLOW_PORT="${CPT_SEARCH_MLFLOW_PORT:-55000}"
RAY_PORT="${CPT_SEARCH_RAY_PORT:-56379}"
RAY_HEAD_CPUS="${CPT_SEARCH_RAY_HEAD_CPUS:-1}"
RAY_WORKER_CPUS="${CPT_SEARCH_RAY_WORKER_CPUS:-1}"
PG_USER=cpt
PIDS="$STATE/pids"
LOGS="$STATE/logs"
PGDATA="$STATE/pgdata"
# The server runs as `postgres`, which must reach its data directory: under a checkout in a private
# folder (e.g. /root) it goes to /var/lib/cpt-search-services/ instead.
if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && [ ! -f "$PGDATA/PG_VERSION" ] \
    && ! runuser -u postgres -- sh -c 'cd "$1"' sh "$(dirname "$STATE")" 2>/dev/null; then
  PGDATA="/var/lib/cpt-search-services/$(printf %s "$STATE" | cksum | cut -d' ' -f1)/pgdata"
fi
PG_LOG="$(dirname "$PGDATA")/postgres.log"  # written by the server's user
ARTIFACTS="$STATE/mlflow-artifacts"
# Ray puts unix sockets under its temp dir (at most 107 bytes a path): keep it short, one per state dir.
RAY_TMP="/tmp/cpt-services-$(printf %s "$STATE" | cksum | cut -d' ' -f1)"
# What the services' processes need (shared/STACK.md: each of these reaches out by default).
OFFLINE=(RAY_USAGE_STATS_ENABLED=0 RAY_AUTH_MODE=disabled MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true
         MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false)

say() { echo "services.sh: $*" >&2; }
die() { echo "services.sh: $*" >&2; exit "${2:-1}"; }

# ------------------------------------------------------------------------------------ namespace

holder_pid() {
  local pid
  [ -f "$PIDS/netns.pid" ] || return 1
  pid="$(cat "$PIDS/netns.pid")"
  # A live `sleep` in a network namespace other than the machine's (works from inside it too).
  [ -n "$pid" ] && [ -e "/proc/$pid/ns/net" ] && [ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/1/ns/net)" ] \
    && grep -q sleep "/proc/$pid/comm" 2>/dev/null && { echo "$pid"; return 0; }
  return 1
}

in_ns() { nsenter -t "$(holder_pid)" -n -- "$@"; }

start_namespace() {
  if holder_pid >/dev/null; then return; fi
  [ "$(id -u)" = 0 ] || die "needs root for a network namespace (unshare --net); run it as root, as CI does" 2
  command -v unshare >/dev/null && command -v nsenter >/dev/null && command -v ip >/dev/null \
    || die "needs unshare, nsenter and ip (Debian: apt-get install -y util-linux iproute2)" 2
  mkdir -p "$PIDS" "$LOGS"
  rm -f "$PIDS/netns.pid"
  # The holder writes its own pid (no guessing what setsid forked) and then is `sleep` itself.
  setsid unshare --net sh -c "echo \$\$ > '$PIDS/netns.pid'; exec sleep infinity" </dev/null >/dev/null 2>&1 &
  for _ in $(seq 50); do holder_pid >/dev/null && break; sleep 0.1; done
  holder_pid >/dev/null || die "could not create the network namespace (unshare --net)"
  in_ns ip link set lo up
  say "network namespace held by pid $(holder_pid) (loopback only)"
}

ns_pids() {
  # Every process in the namespace (but the holder): all of them were started by this script.
  local ns holder p
  holder="$(holder_pid)" || return 0
  ns="$(readlink "/proc/$holder/ns/net")"
  for p in /proc/[0-9]*; do
    p="${p#/proc/}"
    [ "$p" = "$holder" ] && continue
    [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = "$ns" ] && echo "$p"
  done
  return 0
}

descendants() {
  # The pids of $@ and all their descendants (by parent pid, from /proc).
  local all pid ppid frontier="$*" next found="$*"
  all="$(for s in /proc/[0-9]*/stat; do awk '{print $1, $4}' "$s" 2>/dev/null; done)"
  while [ -n "$frontier" ]; do
    next=""
    while read -r pid ppid; do
      for f in $frontier; do [ "$ppid" = "$f" ] && next="$next $pid"; done
    done <<< "$all"
    found="$found $next"; frontier="${next# }"
  done
  echo "$found" | tr ' ' '\n' | sed '/^$/d' | sort -un
}

kill_pids() {
  # SIGTERM, up to $2 seconds, then SIGKILL; $1: the pids (a word list).
  local pids="$1" wait_s="${2:-10}" alive p
  [ -n "$pids" ] || return 0
  kill -TERM $pids 2>/dev/null || true
  for _ in $(seq $((wait_s * 10))); do
    alive=""; for p in $pids; do [ -e "/proc/$p" ] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && alive="$alive $p"; done
    [ -z "$alive" ] && return 0
    sleep 0.1
  done
  kill -KILL $alive 2>/dev/null || true
}

# ------------------------------------------------------------------------------------ PostgreSQL

pg_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  return 1
}

install_postgres() {
  pg_bin >/dev/null && return
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed; as root: apt-get install -y postgresql" 2
  say "installing Debian's postgresql (apt-get)"
  # The package's own cluster is not used (and not left running): the server below runs from $PGDATA.
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1, $2}' | while read -r ver name; do
      pg_ctlcluster "$ver" "$name" stop || true
    done
  fi
  pg_bin >/dev/null || die "apt-get install postgresql gave no /usr/lib/postgresql/*/bin/pg_ctl"
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_password() { cat "$STATE/pg.password"; }

init_postgres() {
  local bin; bin="$(pg_bin)"
  [ -f "$PGDATA/PG_VERSION" ] && return
  mkdir -p "$STATE"
  [ -f "$STATE/pg.password" ] || (umask 077; "$PY" -c 'import secrets; print(secrets.token_hex(16))' > "$STATE/pg.password")
  mkdir -p "$PGDATA"; [ "$(id -u)" = 0 ] && chown postgres: "$(dirname "$PGDATA")"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "no 'postgres' user (Debian's postgresql package creates it)"
    chown postgres: "$PGDATA"; chmod 700 "$PGDATA"
    local pwfile; pwfile="$(mktemp)"; pg_password > "$pwfile"; chown postgres: "$pwfile"
    as_pg "$bin/initdb" -D "$PGDATA" -U postgres --auth-local=peer --auth-host=scram-sha-256 --pwfile="$pwfile" \
      -E UTF8 --locale=C.UTF-8 >"$LOGS/initdb.log" 2>&1 || { rm -f "$pwfile"; die "initdb failed: $LOGS/initdb.log"; }
    rm -f "$pwfile"
  else
    "$bin/initdb" -D "$PGDATA" --auth-host=scram-sha-256 --pwfile="$STATE/pg.password" -E UTF8 --locale=C.UTF-8 \
      >"$LOGS/initdb.log" 2>&1 || die "initdb failed: $LOGS/initdb.log"
  fi
  # TCP on 127.0.0.1 only; the unix socket in the data directory, for the server's owner only.
  cat >> "$PGDATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PGDATA'
unix_socket_permissions = 0700
EOF
  start_postgres
  local sql="CREATE ROLE $PG_USER LOGIN PASSWORD '$(pg_password)';"
  as_pg env PGHOST="$PGDATA" PGPORT="$PG_PORT" "$bin/psql" -q -U postgres -d postgres -c "$sql" >&2
  for db in mlflow optuna; do
    as_pg env PGHOST="$PGDATA" PGPORT="$PG_PORT" "$bin/createdb" -U postgres -O "$PG_USER" "$db"
  done
  say "PostgreSQL initialised in $PGDATA (role $PG_USER, databases mlflow and optuna)"
}

pg_running() { [ -f "$PGDATA/postmaster.pid" ] && as_pg "$(pg_bin)/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

start_postgres() {
  local bin; bin="$(pg_bin)"
  if pg_running; then return; fi
  # pg_ctl starts the postmaster in the background inside the namespace (-w waits until it accepts).
  local as=(); [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
  touch "$PG_LOG"; [ "$(id -u)" = 0 ] && chown postgres: "$PG_LOG"
  setsid --wait nsenter -t "$(holder_pid)" -n -- "${as[@]}" "$bin/pg_ctl" -D "$PGDATA" -l "$PG_LOG" \
    -w -t 60 start >&2 \
    || die "PostgreSQL did not start: $PG_LOG"
  head -1 "$PGDATA/postmaster.pid" > "$PIDS/postgres.pid"
}

stop_postgres() {
  [ -f "$PGDATA/PG_VERSION" ] || return 0
  pg_running || return 0
  as_pg "$(pg_bin)/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >&2 || true
  rm -f "$PIDS/postgres.pid"
}

# ------------------------------------------------------------------------------------ MLflow

pg_url() { echo "postgresql+psycopg://$PG_USER:$(pg_password)@127.0.0.1:$PG_PORT/$1"; }

alive_pid_file() { [ -f "$1" ] && [ -e "/proc/$(cat "$1")" ] && ! grep -q '^State:.*Z' "/proc/$(cat "$1")/status"; }

wait_http() {
  # $1 url, $2 seconds: inside the namespace, until the URL answers 200.
  in_ns "$PY" - "$1" "$2" <<'EOF'
import sys, time, urllib.request
url, deadline = sys.argv[1], time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit(1)
EOF
}

start_mlflow() {
  if alive_pid_file "$PIDS/mlflow.pid"; then return; fi
  mkdir -p "$ARTIFACTS"
  # One worker and no GenAI job runners: healthy in about 5 s and 0.4 GB (shared/STACK.md).
  setsid nsenter -t "$(holder_pid)" -n -- env "${OFFLINE[@]}" "$PY" -m mlflow server \
      --backend-store-uri "$(pg_url mlflow)" --artifacts-destination "$ARTIFACTS" \
      --host 127.0.0.1 --port "$MLFLOW_PORT" --workers 1 </dev/null >"$LOGS/mlflow.log" 2>&1 &
  echo $! > "$PIDS/mlflow.pid"
  wait_http "http://127.0.0.1:$MLFLOW_PORT/health" 120 || die "the MLflow server did not answer: $LOGS/mlflow.log"
}

stop_mlflow() {
  alive_pid_file "$PIDS/mlflow.pid" || { rm -f "$PIDS/mlflow.pid"; return 0; }
  kill_pids "$(descendants "$(cat "$PIDS/mlflow.pid")")" 15
  rm -f "$PIDS/mlflow.pid"
}

# ------------------------------------------------------------------------------------ Ray

ray_node_alive() { [ -s "$PIDS/ray-$1.pids" ] && for p in $(cat "$PIDS/ray-$1.pids"); do [ -e "/proc/$p" ] && return 0; done; return 1; }

start_ray_node() {
  # $1: head|worker. The pids a node's `ray start` left running are the ones new in the namespace.
  local role="$1" before after
  if ray_node_alive "$role"; then return; fi
  before="$(ns_pids)"
  local args=(--node-ip-address 127.0.0.1 --temp-dir "$RAY_TMP" --disable-usage-stats)
  if [ "$role" = head ]; then
    args+=(--head --port "$RAY_PORT" --num-cpus "$RAY_HEAD_CPUS" --num-gpus 0 --include-dashboard false
           --object-store-memory $((256 * 1024 * 1024)))
  else
    args+=(--address "127.0.0.1:$RAY_PORT" --num-cpus "$RAY_WORKER_CPUS" --num-gpus 0
           --object-store-memory $((256 * 1024 * 1024)))
  fi
  # In a session of its own: the daemons `ray start` leaves behind must not share the caller's process
  # group (a Ctrl-C or a group kill aimed at the caller would take a node down).
  # -u: a caller that ran a local, loopback-only Ray (cpt_search sets RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
  # for that, see cpt_search/search/environment.py) must not pass the switch on: it refuses worker nodes.
  setsid --wait nsenter -t "$(holder_pid)" -n -- env -u RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER "${OFFLINE[@]}" \
    PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$(dirname "$PY")/ray" start "${args[@]}" \
    </dev/null >"$LOGS/ray-$role.log" 2>&1 || die "ray start ($role) failed: $LOGS/ray-$role.log"
  sleep 1  # `ray start` runs short-lived helpers too: record only the node's daemons
  after="$(ns_pids)"
  # Not the head's own children started meanwhile (trial workers of a running search).
  local others=""; [ "$role" = worker ] && [ -s "$PIDS/ray-head.pids" ] && others="$(descendants $(cat "$PIDS/ray-head.pids"))"
  comm -13 <(echo "$before" | sort) <(echo "$after" | sort) | sed '/^$/d' \
    | grep -vxF -f <(echo "${others:-none}") > "$PIDS/ray-$role.pids" || true
}

stop_ray_node() {
  # SIGKILL for a worker node on purpose when $2 = kill (fault 2: a node dies, it does not shut down).
  local role="$1" how="${2:-term}" pids
  [ -f "$PIDS/ray-$role.pids" ] || return 0
  pids="$(descendants $(cat "$PIDS/ray-$role.pids") | tr '\n' ' ')"
  if [ "$how" = kill ]; then kill -KILL $pids 2>/dev/null || true; else kill_pids "$pids" 15; fi
  rm -f "$PIDS/ray-$role.pids"
}

wait_ray_nodes() {
  # Until the cluster has $1 live nodes.
  in_ns env "${OFFLINE[@]}" "$PY" - "127.0.0.1:$RAY_PORT" "$1" 2>>"$LOGS/ray-wait.log" <<'EOF'
import sys, time, logging
import ray
ray.init(address=sys.argv[1], logging_level=logging.ERROR, log_to_driver=False)
deadline = time.time() + 60
while time.time() < deadline:
    if sum(1 for n in ray.nodes() if n["Alive"]) >= int(sys.argv[2]):
        sys.exit(0)
    time.sleep(0.5)
sys.exit(1)
EOF
}

# ------------------------------------------------------------------------------------ commands

print_env() {
  echo "RAY_ADDRESS=127.0.0.1:$RAY_PORT"
  echo "MLFLOW_TRACKING_URI=http://127.0.0.1:$MLFLOW_PORT"
  echo "CPT_SEARCH_OPTUNA_STORAGE=$(pg_url optuna)"
  echo "CPT_SEARCH_SERVICES_NETNS_PID=$(holder_pid)"
  echo "CPT_SEARCH_SERVICES_DIR=$STATE"
}

cmd_up() {
  [ -x "$PY" ] || die "no Python at $PY (run make setup, or set CPT_SEARCH_PYTHON)" 2
  "$PY" -c "import psycopg, mlflow, ray" 2>/dev/null \
    || die "$PY lacks psycopg, mlflow or ray: pip install '.[all]' (psycopg is in the 'services' extra)" 2
  install_postgres
  start_namespace
  mkdir -p "$PIDS" "$LOGS"
  init_postgres
  start_postgres
  start_mlflow
  start_ray_node head
  start_ray_node worker
  wait_ray_nodes 2 || die "the Ray cluster did not reach two nodes: $LOGS/ray-*.log"
  say "up: PostgreSQL 127.0.0.1:$PG_PORT, MLflow http://127.0.0.1:$MLFLOW_PORT, Ray 127.0.0.1:$RAY_PORT (2 nodes)"
  print_env
}

cmd_down() {
  if ! holder_pid >/dev/null; then
    stop_postgres  # a server left by an interrupted `up` (it would be in the namespace otherwise)
    rm -rf "$RAY_TMP"; rm -f "$PIDS"/*.pid "$PIDS"/*.pids 2>/dev/null || true
    say "down: nothing running"; return
  fi
  stop_ray_node worker
  stop_ray_node head
  stop_mlflow
  stop_postgres
  # Whatever else runs in the namespace (trial workers, a command given to exec) was started here too.
  local rest; rest="$(ns_pids | tr '\n' ' ')"
  [ -n "${rest// }" ] && { say "stopping leftover processes in the namespace: $rest"; kill_pids "$rest" 10; }
  local holder; holder="$(holder_pid)"
  kill -KILL "$holder" 2>/dev/null || true
  rm -f "$PIDS"/*.pid "$PIDS"/*.pids
  rm -rf "$RAY_TMP"
  say "down: stopped (data kept in $STATE)"
}

cmd_status() {
  local holder
  holder="$(holder_pid)" || { echo "services: down"; return 3; }
  echo "namespace: pid $holder"
  if pg_running; then echo "postgres: up (pid $(head -1 "$PGDATA/postmaster.pid"), 127.0.0.1:$PG_PORT)"; else echo "postgres: down"; fi
  if alive_pid_file "$PIDS/mlflow.pid"; then echo "mlflow: up (pid $(cat "$PIDS/mlflow.pid"), http://127.0.0.1:$MLFLOW_PORT)"; else echo "mlflow: down"; fi
  for role in head worker; do
    if ray_node_alive "$role"; then echo "ray-$role: up (pids $(tr '\n' ' ' < "$PIDS/ray-$role.pids"))"; else echo "ray-$role: down"; fi
  done
  echo "listening sockets in the namespace:"
  in_ns ss -ltnH | awk '{print "  " $4}' | sort -u
}

cmd_exec() {
  holder_pid >/dev/null || die "the services are not up (scripts/services.sh up)" 2
  [ $# -gt 0 ] || die "exec needs a command" 2
  local envs; mapfile -t envs < <(print_env)
  exec nsenter -t "$(holder_pid)" -n -- env "${OFFLINE[@]}" "${envs[@]}" "$@"
}

cmd_one() {
  # stop|start|restart one service: postgres, mlflow, ray-worker (kill-ray-worker: SIGKILL, no shutdown).
  local action="$1" name="${2:-}"
  holder_pid >/dev/null || die "the services are not up (scripts/services.sh up)" 2
  case "$action:$name" in
    stop:postgres) stop_postgres ;;
    start:postgres) start_postgres ;;
    restart:postgres) stop_postgres; start_postgres ;;
    stop:mlflow) stop_mlflow ;;
    start:mlflow) start_mlflow ;;
    restart:mlflow) stop_mlflow; start_mlflow ;;
    stop:ray-worker) stop_ray_node worker ;;
    kill:ray-worker) stop_ray_node worker kill ;;
    start:ray-worker) start_ray_node worker ;;
    restart:ray-worker) stop_ray_node worker; start_ray_node worker ;;
    *) die "unknown service action '$action $name' (use stop|start|restart postgres|mlflow|ray-worker, kill ray-worker)" 2 ;;
  esac
  say "$action $name: done"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) holder_pid >/dev/null || die "the services are not up (scripts/services.sh up)" 2; print_env ;;
  exec) shift; cmd_exec "$@" ;;
  stop|start|restart|kill) cmd_one "$1" "${2:-}" ;;
  *) die "usage: scripts/services.sh up|down|status|env|exec CMD...|stop|start|restart SERVICE|kill ray-worker" 2 ;;
esac
