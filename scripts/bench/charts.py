#!/usr/bin/env python3
"""Draws the charts of docs/benchmarks.md from its own tables: reads the first Markdown table
between each pair of <!-- bench:NAME --> markers and writes PNGs into docs/charts/ (a chart whose
table is missing is skipped). scripts/bench.sh runs it after a full run; it needs matplotlib
(Debian's python3-matplotlib, `scripts/install-deps.sh --bench`).

  scripts/bench/charts.py [--doc docs/benchmarks.md] [--out docs/charts]
"""

import argparse
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BROKER, FLOOR, TARGET = "#1f77b4", "#7f7f7f", "#d62728"


def bench_tables(doc):
    """{name: [row dict by header]} for the first table inside each bench:NAME marker pair."""
    tables = {}
    for name, body in re.findall(r"<!-- bench:(\w+) -->(.*?)<!-- /bench:\1 -->", doc, re.S):
        lines = [l.strip() for l in body.strip().splitlines()]
        rows = []
        for line in lines:
            if not line.startswith("|"):
                if rows:
                    break
                continue
            rows.append([c.strip() for c in line.strip("|").split("|")])
        if len(rows) >= 3:
            tables[name] = [dict(zip(rows[0], r)) for r in rows[2:]]
    return tables


def number(cell):
    """The first number in a cell such as '**2.15** (≤ 1.5)', '57 MiB' or '1.94 s'."""
    m = re.search(r"-?\d+(?:\.\d+)?", cell.replace(",", ""))
    return float(m.group()) if m else float("nan")


def column(rows, header):
    return [number(r[header]) for r in rows]


def save(fig, out, name):
    path = os.path.join(out, name)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    print("wrote", os.path.relpath(path, ROOT))


def bars(ax, labels, series, unit, fmt=None):
    """Grouped horizontal bars: `series` is [(legend, values, colour)], one bar per label each;
    `fmt` formats the bar labels (default: 2 decimals below 10, none above)."""
    height = 0.8 / len(series)
    for i, (legend, values, colour) in enumerate(series):
        ys = [y + (i - (len(series) - 1) / 2) * height for y in range(len(labels))]
        drawn = ax.barh(ys, values, height, label=legend, color=colour)
        ax.bar_label(drawn, fmt=fmt or ("%.2f" if max(values) < 10 else "%.0f"), padding=2,
                     fontsize=8)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    ax.margins(x=0.15)
    if len(series) > 1:
        ax.legend(loc="lower right", fontsize=8)


def floor_chart(rows, out):
    labels = [r["Workload"] for r in rows]
    fig, (cpu, speed) = plt.subplots(1, 2, figsize=(11, 0.6 * len(rows) + 1.8))
    bars(cpu, labels, [("broker", column(rows, "Broker CPU s/GB"), BROKER),
                       ("floor", column(rows, "Floor CPU s/GB"), FLOOR)], "CPU core-seconds per GB")
    cpu.set_title("CPU per GB, broker vs floor (lower is better)")
    bars(speed, [""] * len(rows), [("broker", column(rows, "MB/s"), BROKER),
                                   ("floor", column(rows, "Floor MB/s"), FLOOR)], "MB/s")
    speed.set_title("Throughput, lean client vs floor")
    save(fig, out, "floor.png")


def throughput_chart(rows, out):
    labels = [r["Workload"] for r in rows]
    fig, (speed, cpu) = plt.subplots(1, 2, figsize=(11, 0.45 * len(rows) + 1.8))
    bars(speed, labels, [("broker", column(rows, "MB/s"), BROKER)], "MB/s")
    speed.set_title("Throughput with librdkafka's rdkafka_performance")
    bars(cpu, [""] * len(rows), [("broker", column(rows, "Broker CPU s/GB"), BROKER)],
         "CPU core-seconds per GB")
    cpu.set_title("Broker CPU per GB (lower is better)")
    save(fig, out, "throughput.png")


def latency_chart(rows, out):
    percentiles = [h for h in ("p50 µs", "p99 µs", "p99.9 µs", "Max µs") if h in rows[0]]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(rows)
    colours = [BROKER, "#9ecae1", FLOOR]
    for i, r in enumerate(rows):
        xs = [x + (i - (len(rows) - 1) / 2) * width for x in range(len(percentiles))]
        drawn = ax.bar(xs, [number(r[p]) for p in percentiles], width,
                       label=r[next(iter(r))], color=colours[i % len(colours)])
        ax.bar_label(drawn, fmt="%.0f", fontsize=7, padding=1)
    ax.axhline(1000, color=TARGET, linestyle="--", linewidth=1, label="target p99 ack: 1 ms")
    ax.set_xticks(range(len(percentiles)), [p.replace(" µs", "") for p in percentiles])
    ax.set_yscale("log")
    ax.set_ylabel("µs (log scale)")
    ax.set_title(next(iter(rows[0])).replace("Path, ", "Latency ") + ", broker vs floor")
    ax.legend(fontsize=8)
    save(fig, out, "latency.png")


def partitions_label(cell):
    """'10000 partitions' -> '10,000'; '100 partitions, 10000 idle connections' ->
    '100\n+ 10,000 idle'."""
    counts = ["{:,}".format(int(n)) for n in re.findall(r"\d+", cell)]
    return counts[0] + ("\n+ %s idle" % counts[1] if len(counts) > 1 else "")


def numbers(cell):
    """All the numbers of a cell such as '775, 885, 839'."""
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", cell.replace(",", " "))]


def scaling_chart(rows, out):
    labels = [partitions_label(r["Partitions"]) for r in rows]
    ratio_header = next(h for h in rows[0] if h.startswith("Throughput vs"))
    fig, (speed, memory) = plt.subplots(1, 2, figsize=(12, 4.8), width_ratios=(3, 2))
    speed.bar(["%s\n%.0f MB/s, %s" % (label, number(r["MB/s"]), r[ratio_header])
               for label, r in zip(labels, rows)], column(rows, "MB/s"), color="#c6dbef",
              label="median")
    speed.tick_params(axis="x", labelsize=8)
    # Every run as a dot, marked by whether the broker's shards slept for every request (the
    # slower of the two ways these runs go) or stayed busy.
    sleeps_header = "Broker sleeps per request, per run"
    if "MB/s per run" in rows[0] and sleeps_header in rows[0]:
        for legend, colour, slept in (("run, shards stay busy", BROKER, False),
                                      ("run, shards sleep per request", "#ff7f0e", True)):
            xs, ys = [], []
            for x, r in enumerate(rows):
                for mbs, sleeps in zip(numbers(r["MB/s per run"]), numbers(r[sleeps_header])):
                    if (sleeps >= 0.5) == slept:
                        xs.append(x)
                        ys.append(mbs)
            speed.scatter(xs, ys, color=colour, s=18, zorder=3, label=legend)
    speed.axhline(0.8 * number(rows[0]["MB/s"]), color=TARGET, linestyle="--", linewidth=1,
                  label="80 %% of %s (target at 1,000)" % rows[0]["Partitions"])
    speed.set_xlabel("partitions (median, and against the first)")
    speed.set_ylabel("MB/s produced (1 KiB records, acks=1)")
    speed.set_title("Produce throughput by partition count")
    speed.margins(y=0.25)
    speed.legend(fontsize=7, loc="upper left")
    drawn = memory.bar(labels, column(rows, "Broker RSS after the run"), color=BROKER)
    memory.bar_label(drawn, fmt="%.0f MiB", fontsize=8)
    memory.set_xlabel("partitions")
    memory.set_ylabel("MiB")
    memory.set_title("Broker RSS after the run (target at 10,000: ≤ 1 GiB)")
    memory.margins(y=0.2)
    save(fig, out, "scaling.png")


def recovery_chart(rows, out):
    labels = ["%s, %s" % (r["Case"], r["Segments"]) for r in rows]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 1.6))
    bars(ax, labels, [("median seconds to listening", column(rows, "Median time to listening"),
                       BROKER)], "seconds")
    ax.axvline(5, color=TARGET, linestyle="--", linewidth=1, label="target: 5 s")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Recovery after SIGKILL, %s" % rows[0]["Data"])
    save(fig, out, "recovery.png")


def versus_kafka_chart(rows, out):
    """How far Runnel is ahead of Kafka on each measure (Kafka's figure over Runnel's, so above
    1 is Runnel ahead), on a log scale with parity marked."""
    rows = [r for r in rows if number(r["Runnel ahead by"]) == number(r["Runnel ahead by"])]
    labels = ["%s (%s)" % (r["Measure"], r["Unit"]) for r in rows]
    fig, ax = plt.subplots(figsize=(10, 0.4 * len(rows) + 1.8))
    bars(ax, labels, [("Runnel ahead by (×)", column(rows, "Runnel ahead by"), BROKER)],
         "Kafka's figure / Runnel's (throughput: Runnel's / Kafka's), log scale", fmt="%.1f×")
    ax.set_xscale("log")
    ax.axvline(1, color=FLOOR, linestyle="--", linewidth=1)
    ax.set_title("Runnel against Apache Kafka 4.4.0, same machine, same run")
    save(fig, out, "versus_kafka.png")


CHARTS = {"floor": floor_chart, "throughput": throughput_chart, "latency": latency_chart,
          "scaling": scaling_chart, "recovery": recovery_chart,
          "versus_kafka": versus_kafka_chart}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "charts"))
    args = ap.parse_args()
    with open(args.doc) as f:
        tables = bench_tables(f.read())
    os.makedirs(args.out, exist_ok=True)
    for name, draw in CHARTS.items():
        if name in tables:
            draw(tables[name], args.out)
        else:
            print("no bench:%s table; %s.png not drawn" % (name, name), file=sys.stderr)


if __name__ == "__main__":
    main()
