#!/usr/bin/env bash
# A ZooKeeper and N Runnel brokers on this machine, side by side, as the seed tutorials' cluster
# (docs/clusters.md): ZooKeeper on 127.0.0.1:2181, broker i (1..N) on 127.0.0.1:9091+i with its
# admin API on 9643+i, each with its own data dir under the cluster dir.
#
#   scripts/cluster.sh start 2     ZooKeeper and brokers 1 and 2 (installs and builds what is
#                                  missing first); returns once all serve
#   scripts/cluster.sh status      what runs
#   scripts/cluster.sh stop        the brokers (SIGTERM, each waits for its clean stop), then
#                                  ZooKeeper; the data stays for the next start
#
# Environment: RUNNEL_CLUSTER_DIR (default ./cluster), RUNNEL_ZK_PORT (2181),
# RUNNEL_CLUSTER_BASE_PORT (9091: broker i listens on base+i), RUNNEL_CLUSTER_ADMIN_BASE_PORT
# (9643), RUNNEL_CLUSTER_NO_BUILD=1 (use the binary as it is), RUNNEL_BROKER (the binary;
# default build/server/runnel).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$(realpath -m "${RUNNEL_CLUSTER_DIR:-$PWD/cluster}")"
zk_port="${RUNNEL_ZK_PORT:-2181}"
base="${RUNNEL_CLUSTER_BASE_PORT:-9091}"
admin_base="${RUNNEL_CLUSTER_ADMIN_BASE_PORT:-9643}"
zk_jar=/usr/share/java/zookeeper.jar
binary="${RUNNEL_BROKER:-$root/build/server/runnel}"

running() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_port() {  # port seconds what
    local deadline=$((SECONDS + $2))
    until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
        if ((SECONDS > deadline)); then
            echo "$3 is not listening on 127.0.0.1:$1 after $2 s" >&2
            return 1
        fi
        sleep 0.2
    done
}

start_zookeeper() {
    local z="$dir/zookeeper"
    if running "$z/pid"; then return; fi
    mkdir -p "$z/data"
    cat >"$z/zoo.cfg" <<CFG
tickTime=2000
dataDir=$z/data
clientPort=$zk_port
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok
CFG
    nohup java -Xmx256m -Dzookeeper.log.dir="$z" -cp "/etc/zookeeper/conf:$zk_jar" \
        org.apache.zookeeper.server.ZooKeeperServerMain "$z/zoo.cfg" >>"$z/zookeeper.log" 2>&1 &
    echo $! >"$z/pid"
    wait_port "$zk_port" 60 ZooKeeper
    echo "ZooKeeper on 127.0.0.1:$zk_port (pid $(cat "$z/pid"), log $z/zookeeper.log)"
}

start_broker() {  # id
    local id=$1 b="$dir/broker-$1"
    local port=$((base + id)) admin=$((admin_base + id))
    if running "$b/pid"; then
        echo "broker $id already runs (pid $(cat "$b/pid"))"
        return
    fi
    mkdir -p "$b"
    nohup "$binary" "$root/etc/server.properties" \
        --override "broker.id=$id" \
        --override "listeners=PLAINTEXT://127.0.0.1:$port" \
        --override "log.dirs=$b/data" \
        --override "zookeeper.connect=127.0.0.1:$zk_port/runnel" \
        --override "runnel.admin.listeners=http://127.0.0.1:$admin" \
        --override "runnel.pipelines.dir=" >>"$b/broker.log" 2>&1 &
    echo $! >"$b/pid"
    wait_port "$port" 60 "broker $id"
    echo "broker $id on 127.0.0.1:$port, admin API http://127.0.0.1:$admin (pid $(cat "$b/pid"), log $b/broker.log)"
}

stop_pid_file() {  # pid-file what
    if ! running "$1"; then
        rm -f "$1"
        return
    fi
    local pid
    pid="$(cat "$1")"
    kill -TERM "$pid"
    for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "$2 did not stop within 30 s; killing it" >&2
        kill -KILL "$pid"
    fi
    rm -f "$1"
    echo "stopped $2"
}

case "${1:-}" in
    start)
        count="${2:-2}"
        if ! [[ "$count" =~ ^[1-9][0-9]*$ ]]; then
            echo "usage: scripts/cluster.sh start N (N brokers, 1 or more)" >&2
            exit 2
        fi
        if [[ ! -f "$zk_jar" ]]; then "$root/scripts/install-deps.sh" --cluster; fi
        if [[ -z "${RUNNEL_CLUSTER_NO_BUILD:-}" ]]; then
            "$root/scripts/install-deps.sh"
            "$root/scripts/build.sh" runnel
        fi
        mkdir -p "$dir"
        start_zookeeper
        for id in $(seq 1 "$count"); do start_broker "$id"; done
        echo "bootstrap servers: $(seq -s, -f "127.0.0.1:%.0f" $((base + 1)) $((base + count)))"
        ;;
    stop)
        for b in "$dir"/broker-*; do
            [[ -d "$b" ]] && stop_pid_file "$b/pid" "broker ${b##*-}"
        done
        stop_pid_file "$dir/zookeeper/pid" ZooKeeper
        ;;
    status)
        if running "$dir/zookeeper/pid"; then
            echo "ZooKeeper runs on 127.0.0.1:$zk_port (pid $(cat "$dir/zookeeper/pid"))"
        else
            echo "ZooKeeper is not running"
        fi
        for b in "$dir"/broker-*; do
            [[ -d "$b" ]] || continue
            id="${b##*-}"
            if running "$b/pid"; then
                echo "broker $id runs on 127.0.0.1:$((base + id)) (pid $(cat "$b/pid"))"
            else
                echo "broker $id is not running"
            fi
        done
        ;;
    *)
        echo "usage: scripts/cluster.sh start N | status | stop" >&2
        exit 2
        ;;
esac
