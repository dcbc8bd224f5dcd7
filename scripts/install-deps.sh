#!/usr/bin/env bash
# Installs the Debian packages Runnel needs, skipping those already present.
#   scripts/install-deps.sh          build dependencies
#   scripts/install-deps.sh --test   also the test clients: Debian's (librdkafka, kcat,
#                                    kafka-python 2, confluent-kafka 1.7), today's Python clients
#                                    in a venv (scripts/install-python-clients.sh), Apache
#                                    Kafka's Java tools through Maven (install-java-clients.sh),
#                                    Chromium with playwright-core from npm for the web
#                                    console's test (install-console-test.sh), and Apache
#                                    ZooKeeper for the cluster tests
#   scripts/install-deps.sh --bench  also what scripts/bench.sh draws its charts with (matplotlib)
#   scripts/install-deps.sh --cluster  also Apache ZooKeeper's server and Java (scripts/cluster.sh)
set -euo pipefail

build_pkgs=(g++ cmake ninja-build ccache pkg-config python3
    libboost1.81-dev libspdlog-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
    zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev libre2-dev librocksdb-dev
    libzookeeper-mt-dev)
test_pkgs=(libgtest-dev libgmock-dev librdkafka-dev kcat iproute2 clang-format maven openjdk-17-jdk-headless
    python3-kafka python3-confluent-kafka python3-venv
    python3-lz4 python3-snappy python3-zstandard chromium zookeeper)
bench_pkgs=(python3-matplotlib)
cluster_pkgs=(zookeeper openjdk-17-jre-headless)

pkgs=("${build_pkgs[@]}")
for arg in "$@"; do
    case "$arg" in
        --test) pkgs+=("${test_pkgs[@]}") ;;
        --bench) pkgs+=("${bench_pkgs[@]}") ;;
        --cluster) pkgs+=("${cluster_pkgs[@]}") ;;
        *) echo "unknown option $arg (known: --test --bench --cluster)" >&2; exit 2 ;;
    esac
done

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Clients from PyPI and Maven Central, into caches outside the clone.
other_clients() {
    for arg in "$@"; do
        if [[ "$arg" == --test ]]; then
            "$(dirname "${BASH_SOURCE[0]}")/install-python-clients.sh"
            "$(dirname "${BASH_SOURCE[0]}")/install-java-clients.sh"
            "$(dirname "${BASH_SOURCE[0]}")/install-console-test.sh"
        fi
    done
    return 0
}
if [[ ${#missing[@]} -eq 0 ]]; then
    other_clients "$@"
    exit 0
fi

echo "installing: ${missing[*]}"
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
other_clients "$@"
