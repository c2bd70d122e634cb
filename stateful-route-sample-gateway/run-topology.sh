#!/usr/bin/env bash
# The sample as processes: three lobby pods and the Spring Cloud Gateway in front of them, each
# an executable jar run with java -jar. Pod 0 brings the embedded Redis (it gets no
# spring.data.redis.*); the other pods and the gateway use that Redis. Build the jars first:
#   ./mvnw -B -ntp -pl stateful-route-sample-app,stateful-route-sample-gateway -am package -DskipTests
# Ports: GATEWAY_PORT (8080) and FIRST_POD_PORT (8081, pod N listens on FIRST_POD_PORT + N).
# Ctrl-C (or SIGTERM) stops everything it started: the gateway, then the pods (they drain for
# stateful-route.server.drain-period, 5 s), pod 0 last since its Redis serves the others. Each
# process runs in a session of its own (setsid, where there is one), so a Ctrl-C reaches this
# script only, not Redis before the pods drained.
set -euo pipefail
cd "$(dirname "$0")/.."
GATEWAY_PORT=${GATEWAY_PORT:-8080}
FIRST_POD_PORT=${FIRST_POD_PORT:-8081}
PODS=3
STARTUP_SECONDS=180

executable_jar() { # module
  local jars=("$1"/target/"$1"-*-exec.jar)
  if [[ ! -f ${jars[0]} ]]; then
    echo "No executable jar in $1/target: build it first (see the top of $0)" >&2
    exit 1
  fi
  echo "${jars[0]}"
}
POD_JAR=$(executable_jar stateful-route-sample-app)
GATEWAY_JAR=$(executable_jar stateful-route-sample-gateway)
LOGS=$(mktemp -d)
SESSION=$(command -v setsid || true)
pod_pids=()
gateway_pid=

stop() {
  trap - EXIT INT TERM
  echo "Stopping (logs in $LOGS)"
  if [[ -n $gateway_pid ]]; then
    kill "$gateway_pid" 2>/dev/null || true
    wait "$gateway_pid" 2>/dev/null || true
  fi
  # pod 0 holds Redis: the others drain first, while it still answers
  local others=("${pod_pids[@]:1}")
  if ((${#others[@]} > 0)); then
    kill "${others[@]}" 2>/dev/null || true
    wait "${others[@]}" 2>/dev/null || true
  fi
  if ((${#pod_pids[@]} > 0)); then
    kill "${pod_pids[0]}" 2>/dev/null || true
    wait "${pod_pids[0]}" 2>/dev/null || true
  fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits until the command succeeds; gives up when a started process exited or time is up.
await() { # what, command...
  local what=$1
  shift
  for ((second = 0; second < STARTUP_SECONDS; second++)); do
    if "$@"; then
      return 0
    fi
    for pid in "${pod_pids[@]}" $gateway_pid; do
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "A process exited while waiting for $what; the ends of the logs:" >&2
        tail -n 20 "$LOGS"/*.log >&2
        exit 1
      fi
    done
    sleep 1
  done
  echo "Gave up waiting for $what after $STARTUP_SECONDS s; logs in $LOGS" >&2
  exit 1
}

healthy() { # port
  curl -sf "http://127.0.0.1:$1/actuator/health" > /dev/null
}

pod() { # index, extra arguments...
  local index=$1
  shift
  $SESSION java -jar "$POD_JAR" --server.port=$((FIRST_POD_PORT + index)) --stateful-route.server.enabled=true \
    --stateful-route.server.pod-index="$index" --stateful-route.server.advertised-address.host=127.0.0.1 \
    --sample.demo.enabled=false "$@" > "$LOGS/pod-$index.log" 2>&1 &
  pod_pids+=($!)
}

echo "Starting pod 0 with the embedded Redis (logs in $LOGS)"
pod 0
await "pod 0's embedded Redis" grep -q 'embedded Redis on 127.0.0.1:' "$LOGS/pod-0.log"
REDIS_PORT=$(grep -o 'embedded Redis on 127.0.0.1:[0-9]*' "$LOGS/pod-0.log" | head -1 | cut -d: -f2)
for ((index = 1; index < PODS; index++)); do
  pod "$index" --spring.data.redis.host=127.0.0.1 --spring.data.redis.port="$REDIS_PORT"
done
$SESSION java -jar "$GATEWAY_JAR" --server.port="$GATEWAY_PORT" --spring.data.redis.host=127.0.0.1 \
  --spring.data.redis.port="$REDIS_PORT" > "$LOGS/gateway.log" 2>&1 &
gateway_pid=$!
for ((index = 0; index < PODS; index++)); do
  await "pod $index" healthy $((FIRST_POD_PORT + index))
done
await "the gateway" healthy "$GATEWAY_PORT"

cat <<EOF
Redis on 127.0.0.1:$REDIS_PORT; pods 0-$((PODS - 1)) on ports $FIRST_POD_PORT-$((FIRST_POD_PORT + PODS - 1)); gateway on port $GATEWAY_PORT; logs in $LOGS
  curl localhost:$GATEWAY_PORT/lobby/alice    the pod that answered holds alice; ask again: the same pod
  http://localhost:$GATEWAY_PORT/             alice's lobby chat through the gateway (ws://localhost:$GATEWAY_PORT/lobby/alice/ws)
  http://localhost:$FIRST_POD_PORT/             a pod's live page: every pod with the address it advertises; drain
                                     alice's pod, then hand it off: her chat reconnects to her new pod
Ctrl-C stops them all.
EOF
wait
