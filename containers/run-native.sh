#!/usr/bin/env bash
# Runs the four services as plain processes (no Docker) against a local
# redis-server, with the settings of .env (created from default.env with random
# secrets on first use). Ctrl-C (or SIGTERM) stops everything cleanly.
#
#   make run                      # builds bin/ first
#   GLOBAL_BROKER_HOST=gb.wis.cma.cn make run
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f .env ] || sh containers/setup-env.sh
# The binaries read .env themselves (the real environment wins over it), so
# .env is not sourced here: that would override what the caller set. Only the
# values this script needs are read from it.
env_value() { sed -n "s/^$1=//p" .env | tail -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'$/\1/"; }
export REDIS_PASSWORD="${REDIS_PASSWORD:-$(env_value REDIS_PASSWORD)}"
[ -n "$REDIS_PASSWORD" ] || { echo "REDIS_PASSWORD is empty in .env: run sh containers/setup-env.sh"; exit 1; }

run_dir=${RUN_DIR:-.run}
mkdir -p "$run_dir" downloads
# Native overrides of the container settings (the real environment wins over .env).
export REDIS_HOST=127.0.0.1
export REDIS_PORT=${NATIVE_REDIS_PORT:-6379}
export CONTAINER_DATA_PATH="$PWD/downloads"
export API_HOST=127.0.0.1 API_PORT=${NATIVE_API_PORT:-5002}
export UI_HOST=127.0.0.1 UI_PORT=${NATIVE_UI_PORT:-8080}
export WIS2_SUBSCRIPTION_MANAGER_URL="http://127.0.0.1:${API_PORT}"
gb=${GLOBAL_BROKER_HOST:-$(env_value GLOBAL_BROKER_HOST)}
export GLOBAL_BROKER_HOST="${gb:-globalbroker.meteo.fr}"

pids=()
stop() {
  trap - INT TERM EXIT
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null || true
  wait || true
}
trap stop INT TERM EXIT

ping_redis() { REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; }
if ! ping_redis; then
  echo "starting redis-server on 127.0.0.1:$REDIS_PORT (data in $run_dir)"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --requirepass "$REDIS_PASSWORD" \
    --appendonly yes --dir "$PWD/$run_dir" --save "60 1" >"$run_dir/redis.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do ping_redis && break; sleep 0.1; done
  ping_redis || { echo "redis-server did not start, see $run_dir/redis.log"; exit 1; }
fi

for svc in api worker subscriber ui; do
  "bin/$svc" &
  pids+=($!)
done
echo "running: API http://127.0.0.1:$API_PORT  UI http://127.0.0.1:$UI_PORT  (Ctrl-C stops)"
wait -n
