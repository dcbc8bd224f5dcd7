#!/usr/bin/env bash
# Resolves the pinned Java clients and tools into a Maven repository outside the clone and writes
# their classpaths, which scripts/kafka-tool.sh and the Java integration tests use:
#   integration/java/pom.xml           Kafka 4.4.0's kafka-tools, kafka-clients, kafka-streams
#                                      -> $RUNNEL_JAVA_CACHE/classpath.txt
#   integration/java/kafka-2.8/pom.xml Kafka 2.8.2's tools (the seed tutorials' release)
#                                      -> $RUNNEL_JAVA_CACHE/classpath-2.8.txt
#   integration/java/spark/pom.xml     Spark 4.2.0's Kafka connectors (for the venv's pyspark)
#                                      -> $RUNNEL_JAVA_CACHE/classpath-spark.txt
#   integration/java/kafka-server/pom.xml  Apache Kafka 4.4.0's broker (the differential tests'
#                                      oracle, the benchmarks' peer; scripts/peer/kafka.sh)
#                                      -> $RUNNEL_JAVA_CACHE/classpath-kafka-server.txt
# Nothing downloaded goes into the clone. A second run with the same poms downloads nothing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${RUNNEL_JAVA_CACHE:-$HOME/.cache/runnel-java}"
mkdir -p "$cache"

resolve() {  # resolve <pom> <classpath file name>
    local pom="$1" out="$cache/$2"
    local stamp="$out.pom-sha256"
    local want
    want="$(sha256sum "$pom" | cut -d' ' -f1)"
    if [[ -f "$out" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi
    echo "resolving the Java clients of ${pom#"$root"/} into $cache/m2"
    mvn -B -q -f "$pom" -Dmaven.repo.local="$cache/m2" \
        dependency:build-classpath -Dmdep.outputFile="$out" -Dmdep.includeScope=runtime
    echo "$want" >"$stamp"
}

resolve "$root/integration/java/pom.xml" classpath.txt
resolve "$root/integration/java/kafka-2.8/pom.xml" classpath-2.8.txt
resolve "$root/integration/java/spark/pom.xml" classpath-spark.txt
resolve "$root/integration/java/kafka-server/pom.xml" classpath-kafka-server.txt
