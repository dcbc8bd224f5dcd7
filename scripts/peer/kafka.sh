#!/usr/bin/env bash
# Apache Kafka 4.4.0 on demand, as the differential tests' oracle and the benchmarks' peer (never
# part of what users run): a single KRaft node (combined broker and controller) in a directory of
# its own, with settings equivalent to Runnel's defaults.
#
#   scripts/peer/kafka.sh start <dir> [--port N] [--controller-port N] [--heap 512m] [key=value]...
#       Writes <dir>/server.properties (the key=value arguments appended, overriding), formats
#       <dir>/data, starts Kafka in the background and waits until it answers on the port.
#       Prints the bootstrap address. Logs: <dir>/kafka.out and <dir>/logs/.
#   scripts/peer/kafka.sh stop <dir>
#       SIGTERM, a clean shutdown waited for (SIGKILL after 60 s).
#
# The jars come from integration/java/kafka-server/pom.xml through scripts/install-java-clients.sh
# (run here if the classpath is missing).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${RUNNEL_JAVA_CACHE:-$HOME/.cache/runnel-java}"
classpath_file="$cache/classpath-kafka-server.txt"

usage() {
    echo "usage: scripts/peer/kafka.sh start <dir> [--port N] [--controller-port N] [--heap SIZE] [key=value]..." >&2
    echo "       scripts/peer/kafka.sh stop <dir>" >&2
    exit 2
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Whether something accepts TCP connections on 127.0.0.1:$1.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
    local dir="$1"
    shift
    local port="" cport="" heap="512m"
    local extra=()
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --port) port="$2"; shift 2 ;;
            --controller-port) cport="$2"; shift 2 ;;
            --heap) heap="$2"; shift 2 ;;
            *=*) extra+=("$1"); shift ;;
            *) usage ;;
        esac
    done
    [[ -n "$port" ]] || port="$(free_port)"
    [[ -n "$cport" ]] || cport="$(free_port)"
    # Two free ports picked one after the other can be the same one.
    while [[ "$cport" == "$port" ]]; do cport="$(free_port)"; done
    [[ -f "$classpath_file" ]] || "$root/scripts/install-java-clients.sh" >&2
    mkdir -p "$dir/data" "$dir/logs"
    dir="$(cd "$dir" && pwd)"
    if [[ -f "$dir/kafka.pid" ]] && kill -0 "$(cat "$dir/kafka.pid")" 2>/dev/null; then
        echo "scripts/peer/kafka.sh: Kafka is already running from $dir" >&2
        exit 1
    fi

    # Runnel's defaults where Kafka's differ or matter to a comparison: one partition per new
    # topic, internal topics with one replica, no initial rebalance delay, auto-creation on.
    # Segment size (1 GiB) and flush policy (left to the OS) are both brokers' defaults and are
    # not set, so that DescribeConfigs reports them as defaults on both.
    cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=50
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=50
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
EOF
    for kv in "${extra[@]}"; do echo "$kv" >>"$dir/server.properties"; done

    # Kafka's log4j2 setup, reduced: the server log in logs/server.log, warnings on the console.
    cat >"$dir/log4j2.properties" <<EOF
status = warn
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
appender.console.filter.threshold.type = ThresholdFilter
appender.console.filter.threshold.level = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $dir/logs/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRefs = console, file
rootLogger.appenderRef.console.ref = console
rootLogger.appenderRef.file.ref = file
EOF
    local cp java_opts
    cp="$(cat "$classpath_file")"
    java_opts=(-Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -Djava.awt.headless=true
        -Dlog4j2.configurationFile="$dir/log4j2.properties")
    if [[ ! -f "$dir/data/meta.properties" ]]; then
        java "${java_opts[@]}" -cp "$cp" kafka.tools.StorageTool format \
            -t "$(java -cp "$cp" kafka.tools.StorageTool random-uuid)" \
            -c "$dir/server.properties" >>"$dir/kafka.out" 2>&1
    fi
    nohup java "${java_opts[@]}" -cp "$cp" kafka.Kafka "$dir/server.properties" \
        >>"$dir/kafka.out" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$dir/kafka.pid"
    echo "$port" >"$dir/kafka.port"
    local deadline=$((SECONDS + ${RUNNEL_PEER_START_TIMEOUT:-120}))
    until grep -q "Kafka Server started" "$dir/logs/server.log" 2>/dev/null && port_open "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "scripts/peer/kafka.sh: Kafka exited during start-up; the end of $dir/kafka.out:" >&2
            tail -20 "$dir/kafka.out" >&2
            exit 1
        fi
        if ((SECONDS > deadline)); then
            echo "scripts/peer/kafka.sh: Kafka did not start within the timeout; see $dir/logs" >&2
            kill -KILL "$pid" 2>/dev/null || true
            exit 1
        fi
        sleep 0.2
    done
    echo "127.0.0.1:$port"
}

stop() {
    local dir="$1"
    [[ -f "$dir/kafka.pid" ]] || return 0
    local pid
    pid="$(cat "$dir/kafka.pid")"
    if kill -TERM "$pid" 2>/dev/null; then
        local deadline=$((SECONDS + 60))
        while kill -0 "$pid" 2>/dev/null; do
            if ((SECONDS > deadline)); then
                echo "scripts/peer/kafka.sh: Kafka did not stop within 60 s; killing it" >&2
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.2
        done
    fi
    rm -f "$dir/kafka.pid"
}

[[ $# -ge 2 ]] || usage
command="$1"
shift
case "$command" in
    start) start "$@" ;;
    stop) stop "$1" ;;
    *) usage ;;
esac
