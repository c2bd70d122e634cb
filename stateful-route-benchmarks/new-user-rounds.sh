#!/usr/bin/env bash
# Issue 15's new-user figures (and issue 23's coreAuto, the starter's default notices) on a noisy machine: every case once per round, back to back
# (single forks, -prof gc), so each core / rawMinimalScript ratio is taken between runs at most
# a minute apart; prints each round's ratios and their median. With a second jar (an older
# build of this module), its core runs in the same rounds as "before".
#
#   stateful-route-benchmarks/new-user-rounds.sh [rounds=4] [after.jar] [before.jar]
#
# ONLY, a regex, keeps the cases whose benchmark name matches it (e.g. ONLY=t01_).
# JMH_OPTS overrides each run's options (default: -f 1 -wi 2 -w 2s -i 3 -r 2s -prof gc); the
# issue 15 figures use "-f 1 -wi 4 -w 3s -i 4 -r 3s -prof gc", as a short warm-up still has the
# JIT compiling the larger client path while it is measured.
#
# Raw results go to stateful-route-benchmarks/target/results/rounds/.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-4}
after=${2:-stateful-route-benchmarks/target/benchmarks.jar}
before=${3:-}
out=stateful-route-benchmarks/target/results/rounds
mkdir -p "$out"
log="$out/rounds.log"
: > "$log"

cases=()
for prefix in NewUserBenchmark.t01_ NewUserBenchmark.t50_ AsyncNewUserBenchmark.; do
  cases+=("after:${prefix}rawMinimalScript" "after:${prefix}core" "after:${prefix}coreAuto" "after:${prefix}rawEvalsha")
  [[ $prefix == NewUserBenchmark.* ]] && cases+=("after:${prefix}coreCacheFull")
  [[ -n $before ]] && cases+=("before:${prefix}core")
done

for round in $(seq "$rounds"); do
  for entry in "${cases[@]}"; do
    build=${entry%%:*}
    bench=${entry#*:}
    [[ -n ${ONLY:-} && ! $bench =~ $ONLY ]] && continue
    jar=$after
    [[ $build == before ]] && jar=$before
    file="$out/r$round-$build-$bench.txt"
    # shellcheck disable=SC2086 # JMH_OPTS is a list of options
    java -jar "$jar" "$bench\$" ${JMH_OPTS:--f 1 -wi 2 -w 2s -i 3 -r 2s -prof gc} > "$file" 2>&1
    ops=$(awk -v b="$bench" '$1 == b && $2 == "thrpt" { print $4 }' "$file")
    bytes=$(awk -v b="$bench:gc.alloc.rate.norm" '$1 == b && $2 == "thrpt" { print $4 }' "$file")
    echo "$round $build $bench ${ops:-failed} ${bytes:-?} load=$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$log"
  done
done

# Per round: every case against that round's rawMinimalScript of the same class and thread count.
awk -v rounds="$rounds" '
  { ops[$1 " " $2 " " $3] = $4; if ($3 !~ /rawMinimalScript$/) names[$2 " " $3] = 1 }
  END {
    for (name in names) {
      split(name, k, " "); base = k[2]; sub(/[A-Za-z]+$/, "rawMinimalScript", base)
      line = name ":"
      for (r = 1; r <= rounds; r++) line = line " " sprintf("%.2f", ops[r " " name] / ops[r " after " base])
      print line
    }
  }' "$log" | sort | while IFS=: read -r name values; do
  median=$(tr ' ' '\n' <<< "$values" | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
  printf '%-45s / rawMinimalScript: median %s (rounds:%s)\n' "$name" "$median" "$values"
done
