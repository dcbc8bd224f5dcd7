#!/usr/bin/env bash
# Runs one of Apache Kafka's command-line tools (the pinned release of integration/java/pom.xml)
# against any broker, Runnel included, without a Kafka download:
#
#   scripts/kafka-tool.sh kafka-topics.sh --bootstrap-server 127.0.0.1:9092 --list
#   scripts/kafka-tool.sh kafka-console-consumer --bootstrap-server 127.0.0.1:9092 --topic t
#   scripts/kafka-tool.sh --release 2.8 kafka-console-producer.sh --broker-list 127.0.0.1:9092 --topic t
#
# The first argument names the tool as Kafka's bin/ scripts do (".sh" optional); the rest are the
# tool's own arguments. `--release 2.8` runs Kafka 2.8.2's tools instead of 4.4.0's: the release
# the seed tutorials use (--broker-list, --zookeeper). The clients are resolved on first use
# (scripts/install-java-clients.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
release=4.4
if [[ "${1:-}" == --release ]]; then
    release="${2:-}"
    shift 2 || true
fi
if [[ $# -lt 1 ]]; then
    echo "usage: scripts/kafka-tool.sh [--release 2.8] <kafka-topics.sh|kafka-console-producer.sh|...> [args...]" >&2
    exit 2
fi
tool="${1%.sh}"
shift
if [[ "$release" == 2.8 ]]; then
    classpath_file=classpath-2.8.txt
    case "$tool" in
        kafka-topics) main=kafka.admin.TopicCommand ;;
        kafka-console-producer) main=kafka.tools.ConsoleProducer ;;
        kafka-console-consumer) main=kafka.tools.ConsoleConsumer ;;
        kafka-consumer-groups) main=kafka.admin.ConsumerGroupCommand ;;
        kafka-configs) main=kafka.admin.ConfigCommand ;;
        kafka-reassign-partitions) main=kafka.admin.ReassignPartitionsCommand ;;
        kafka-leader-election) main=kafka.admin.LeaderElectionCommand ;;
        *) echo "scripts/kafka-tool.sh: unknown Kafka 2.8 tool $tool" >&2; exit 2 ;;
    esac
elif [[ "$release" != 4.4 ]]; then
    echo "scripts/kafka-tool.sh: unknown release $release (known: 4.4, 2.8)" >&2
    exit 2
else
    classpath_file=classpath.txt
    case "$tool" in
        kafka-topics) main=org.apache.kafka.tools.TopicCommand ;;
        kafka-console-producer) main=org.apache.kafka.tools.ConsoleProducer ;;
        kafka-console-consumer) main=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
        kafka-consumer-groups) main=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
        kafka-configs) main=org.apache.kafka.tools.ConfigCommand ;;
        kafka-get-offsets) main=org.apache.kafka.tools.GetOffsetShell ;;
        kafka-delete-records) main=org.apache.kafka.tools.DeleteRecordsCommand ;;
        kafka-producer-perf-test) main=org.apache.kafka.tools.ProducerPerformance ;;
        kafka-consumer-perf-test) main=org.apache.kafka.tools.ConsumerPerformance ;;
        kafka-transactions) main=org.apache.kafka.tools.TransactionsCommand ;;
        kafka-groups) main=org.apache.kafka.tools.GroupsCommand ;;
        kafka-log-dirs) main=org.apache.kafka.tools.LogDirsCommand ;;
        kafka-broker-api-versions) main=org.apache.kafka.tools.BrokerApiVersionsCommand ;;
        kafka-features) main=org.apache.kafka.tools.FeatureCommand ;;
        kafka-reassign-partitions) main=org.apache.kafka.tools.reassign.ReassignPartitionsCommand ;;
        kafka-leader-election) main=org.apache.kafka.tools.LeaderElectionCommand ;;
        *) echo "scripts/kafka-tool.sh: unknown tool $tool" >&2; exit 2 ;;
    esac
fi
cache="${RUNNEL_JAVA_CACHE:-$HOME/.cache/runnel-java}"
"$root/scripts/install-java-clients.sh"
# Kafka's bin/kafka-run-class.sh runs the tools with a small heap and these options.
exec java -Xmx512m -XX:+UseSerialGC -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel="${RUNNEL_TOOL_LOG_LEVEL:-warn}" \
    -cp "$(cat "$cache/$classpath_file")" "$main" "$@"
