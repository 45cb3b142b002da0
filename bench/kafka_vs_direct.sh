#!/bin/sh
# Throughput and replication lag (p50/p99) of the command log on Kafka (three in-process KRaft
# brokers, replication factor 3, min.insync.replicas 2; lz4 and zstd) against the direct journey
# link, on this machine, in one JVM (KafkaVsDirectBench). Results: docs/benchmarks.md, "Kafka path".
#   MIB=512 RATE=2000 SECONDS=15 bench/kafka_vs_direct.sh
set -eu
cd "$(dirname "$0")/.."
mvn -o -q -ntp -pl kafka-link -am test -Dtest=KafkaVsDirectBench -Dsurefire.failIfNoSpecifiedTests=false \
    -Dtapline.test.extra.jvm="-Dtapline.bench=true -Dtapline.bench.mib=${MIB:-512} -Dtapline.bench.rate=${RATE:-2000} -Dtapline.bench.seconds=${SECONDS:-15}" \
    2>&1 | sed -n '/BENCH RESULTS/,/^$/p'
