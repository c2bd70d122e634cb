#!/usr/bin/env bash
# Redis' own work per new user, in instructions (callgrind counts them the same whatever else the
# machine does): a redis-server from the PATH under valgrind, sent FEW and then MANY new users by
# NewUserRedisWork, per variant; (instructions with MANY - with FEW) / (MANY - FEW), each variant
# measured twice. Needs valgrind (apt-get install -y valgrind) and the benchmarks jar.
#
#   stateful-route-benchmarks/redis-work.sh [jar] [variants="raw channel tracking"]
set -euo pipefail
cd "$(dirname "$0")/.."
jar=${1:-stateful-route-benchmarks/target/benchmarks.jar}
variants=${2:-raw channel tracking}
few=4000
many=20000
out=stateful-route-benchmarks/target/results/redis-work
mkdir -p "$out"

instructions() {
  local variant=$1 users=$2 port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  valgrind --tool=callgrind --callgrind-out-file="$out/$variant.$users.out" \
    "$(command -v redis-server)" --port "$port" --save '' --appendonly no > "$out/$variant.$users.log" 2>&1 &
  local server=$!
  for _ in $(seq 100); do redis-cli -p "$port" ping > /dev/null 2>&1 && break; sleep 0.3; done
  java -cp "$jar" io.statefulroute.benchmarks.NewUserRedisWork 127.0.0.1 "$port" "$users" "$variant" > /dev/null
  redis-cli -p "$port" shutdown nosave > /dev/null 2>&1 || true
  wait "$server" || true
  awk '/^summary:/ { print $2 }' "$out/$variant.$users.out"
}

for variant in $variants; do
  for run in 1 2; do
    a=$(instructions "$variant" "$few")
    b=$(instructions "$variant" "$many")
    echo "$variant run $run: $(( (b - a) / (many - few) )) instructions per new user"
  done
done
