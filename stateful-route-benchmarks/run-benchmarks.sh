#!/usr/bin/env bash
# Runs every benchmark of BENCHMARKS.md: the JMH suite (each target next to its baselines,
# in one run), the Redis memory measurement, redis-benchmark figures, the gateway benchmark
# (wrk), the notice delivery and the capacity run (LINKS=10000000 by default). About 25
# minutes on 2 cores. Each part starts its own redis-server on a free port (never 6379).
#
#   stateful-route-benchmarks/run-benchmarks.sh [extra JMH options]
#
# Results go to stateful-route-benchmarks/target/results/.
set -euo pipefail
cd "$(dirname "$0")/.."

jar=stateful-route-benchmarks/target/benchmarks.jar
out=stateful-route-benchmarks/target/results
if [[ ! -f "$jar" ]]; then
  ./mvnw -q -B -Pbenchmarks -pl stateful-route-benchmarks -am package -DskipTests
fi
mkdir -p "$out"

# The machine is shared: wait (up to 10 minutes) for the 1-minute load average to drop below 1.5.
for _ in $(seq 1 20); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  awk -v l="$load" 'BEGIN { exit !(l < 1.5) }' && break
  echo "load average $load, waiting..." >&2
  sleep 30
done
{ date -u; uptime; nproc; grep -m1 'model name' /proc/cpuinfo; free -h | head -2; java -version 2>&1 | head -1;
  redis-server --version; } > "$out/machine.txt"

java -jar "$jar" -f 1 -wi 3 -w 2s -i 5 -r 2s -prof gc -rf json -rff "$out/jmh.json" "$@" 2>&1 | tee "$out/jmh.txt"
java -Xmx2g -cp "$jar" io.statefulroute.benchmarks.LinkMemory 2>&1 | tee "$out/memory.txt"
java -cp "$jar" io.statefulroute.benchmarks.RedisBenchmarkFigures 2>&1 | tee "$out/redis-benchmark.txt"
# Spring Cloud Gateway: stateful-route balancer against round robin (needs wrk: apt-get install wrk)
java -cp "$jar" io.statefulroute.benchmarks.gateway.GatewayBenchmark 2>&1 | tee "$out/gateway.txt"
# Link change notices: deliveries per change by channel, sharded pub/sub and client tracking (~3 min)
java -cp "$jar" io.statefulroute.benchmarks.NoticeDelivery 2>&1 | tee "$out/notices.txt"
# Capacity: LINKS links on one Redis (10,000,000 take ~4 min and ~1.5 GB of Redis memory)
java -Xmx2g -cp "$jar" io.statefulroute.benchmarks.LinkCapacity "${LINKS:-10000000}" 2>&1 | tee "$out/capacity.txt"
uptime | tee -a "$out/machine.txt"
