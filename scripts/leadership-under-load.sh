#!/bin/bash
# usage: scripts/leadership-under-load.sh [runs]   (after `npm run build`; needs redis-tools)
# Three nodes, then RUNS (default 10) bounded runs of 1,000,000 pipelined LPUSH onto one list (10 M items: the
# default item cap), each against the node leading then. Prints each run's rate or error and the Raft term: a
# term change is an election under the load (docs/performance.md, "Eleventh session: no leadership lost").
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd); RUNS=${1:-10}; OUT=$(mktemp -d)
# Ports 21001-21003 (peer), 21101-21103 (HTTP), 21201-21203 (RESP) must be free.
PEERS=http://127.0.0.1:21001,http://127.0.0.1:21002,http://127.0.0.1:21003
CLIENTS=http://127.0.0.1:21101,http://127.0.0.1:21102,http://127.0.0.1:21103
pids=()
for i in 1 2 3; do
  node $ROOT/dist/src/node/main.js --id $i --cluster $PEERS --client-urls $CLIENTS --port 2110$i --data-dir $OUT/d$i --resp-port 2120$i --log-level info > $OUT/n$i.log 2>&1 &
  pids+=($!)
done
leader() { for k in $(seq 50); do for i in 1 2 3; do r=$(redis-cli -p 2120$i INFO replication 2>/dev/null | grep -c "role:master"); [ "$r" = 1 ] && { echo $i; return; }; done; sleep 0.2; done; echo 0; }
term() { redis-cli -p 2120$1 INFO replication | grep raft_term | tr -d '\r' | cut -d: -f2; }
sleep 2; L=$(leader); T0=$(term $L); echo "leader $L term $T0"
for k in $(seq $RUNS); do
  L=$(leader)
  R=$(timeout 120 redis-benchmark -p 2120$L -t lpush -c 64 -P 16 -d 16 -n 1000000 -q 2>&1 | tr '\r' '\n' | grep -E "requests per second|ERR|TIMEOUT|rror" | tail -1)
  echo "run $k leader $L term $(term $L): $R"
done
L=$(leader); echo "end: leader $L term $(term $L) (start $T0); LLEN $(redis-cli -p 2120$L LLEN mylist)"
grep -h "stepped down\|pre-vote for term" $OUT/n*.log | wc -l | sed 's/^/election log lines: /'
kill -TERM ${pids[@]}; wait
rm -rf "$OUT"
