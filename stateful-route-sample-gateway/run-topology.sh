#!/usr/bin/env bash
# The sample as processes: three lobby pods and the gateway in front of them, each an
# executable jar. Pod 0 brings the embedded Redis (no spring.data.redis.* given), the others
# and the gateway use it. Build first: ./mvnw -pl stateful-route-sample-gateway -am package -DskipTests
# Ctrl-C stops them all (the pods drain first).
set -euo pipefail
cd "$(dirname "$0")/.."
POD_JAR=$(ls stateful-route-sample-app/target/stateful-route-sample-app-*-exec.jar)
GATEWAY_JAR=$(ls stateful-route-sample-gateway/target/stateful-route-sample-gateway-*-exec.jar)
LOGS=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM

pod() { # index, then extra arguments
  local index=$1; shift
  java -jar "$POD_JAR" --server.port=$((8081 + index)) --stateful-route.server.enabled=true \
    --stateful-route.server.pod-index="$index" --stateful-route.server.advertised-address.host=127.0.0.1 \
    --sample.demo.enabled=false "$@" > "$LOGS/pod-$index.log" 2>&1 &
  pids+=($!)
}

pod 0
until grep -q 'embedded Redis on' "$LOGS/pod-0.log"; do sleep 1; done
REDIS_PORT=$(grep -o 'embedded Redis on 127.0.0.1:[0-9]*' "$LOGS/pod-0.log" | cut -d: -f2)
pod 1 --spring.data.redis.port="$REDIS_PORT"
pod 2 --spring.data.redis.port="$REDIS_PORT"
java -jar "$GATEWAY_JAR" --server.port=8080 --spring.data.redis.port="$REDIS_PORT" > "$LOGS/gateway.log" 2>&1 &
pids+=($!)
until curl -sf localhost:8080/actuator/health > /dev/null; do sleep 1; done
echo "Redis on 127.0.0.1:$REDIS_PORT; pods on :8081-8083; gateway on :8080; logs in $LOGS"
echo "try: curl localhost:8080/lobby/alice   (the pod that answered holds alice)"
wait
