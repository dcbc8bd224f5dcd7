#!/usr/bin/env bash
# Resolves the pinned Java clients and tools of integration/java/pom.xml (Apache Kafka's
# kafka-tools, kafka-clients, kafka-streams) into a Maven repository outside the clone and writes
# their classpath to $RUNNEL_JAVA_CACHE/classpath.txt, which scripts/kafka-tool.sh and the Java
# integration tests use. Nothing downloaded goes into the clone. A second run with the same pom
# downloads nothing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${RUNNEL_JAVA_CACHE:-$HOME/.cache/runnel-java}"
mkdir -p "$cache"
pom="$root/integration/java/pom.xml"
stamp="$cache/classpath.pom-sha256"
want="$(sha256sum "$pom" | cut -d' ' -f1)"
if [[ -f "$cache/classpath.txt" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    exit 0
fi
echo "resolving the Java clients of integration/java/pom.xml into $cache/m2"
mvn -B -q -f "$pom" -Dmaven.repo.local="$cache/m2" \
    dependency:build-classpath -Dmdep.outputFile="$cache/classpath.txt" -Dmdep.includeScope=runtime
echo "$want" >"$stamp"
