// The Runnel console: one page, routed by the URL's #fragment, reading the broker's admin API
// (/v1/...) and /metrics. Views poll every two seconds while they are shown; the overview's
// history is kept for the session so its charts do not restart on every visit.
"use strict";

const POLL_MS = 2000;
const SPAN_MS = 120000;
let timers = [];

// ------------------------------------------------------------------ helpers

// el("td", {class: "num"}, "text", child, ...): a DOM element; text is never parsed as HTML.
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "style") e.style.cssText = v;  // CSSOM: allowed by the page's CSP, unlike style=""
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function table(headers, rows, numeric = []) {
  return el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h, i) => el("th", { class: numeric.includes(i) && "num" }, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) => el("td", { class: numeric.includes(i) && "num" }, c))))));
}

async function api(path, options) {
  const r = await fetch(path, options);
  const text = await r.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  if (!r.ok) throw new Error((body && body.error) || r.status + " " + r.statusText);
  return body;
}

// Prometheus text: [{name, labels: {...}, value}].
function parseMetrics(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] || "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: parseFloat(m[3]) });
  }
  return out;
}

function sum(samples, name, where = () => true) {
  return samples.filter((s) => s.name === name && where(s.labels)).reduce((a, s) => a + s.value, 0);
}

// The q-quantile (ms) of the requests between two scrapes of a histogram.
function quantile(before, after, request, q) {
  const buckets = (samples) => samples
    .filter((s) => s.name === "kafka_network_requestmetrics_totaltimems_bucket" && s.labels.request === request)
    .map((s) => [s.labels.le === "+Inf" ? Infinity : parseFloat(s.labels.le), s.value]);
  const a = new Map(buckets(before)), b = buckets(after).sort((x, y) => x[0] - y[0]);
  const total = b.length ? b[b.length - 1][1] - (a.get(Infinity) || 0) : 0;
  if (total <= 0) return null;
  for (const [le, n] of b) if (n - (a.get(le) || 0) >= q * total) return le === Infinity ? 5000 : le;
  return null;
}

function pretty(value, encoding) {
  if (value === null || value === undefined) return el("span", { class: "muted" }, "null");
  if (encoding === "base64") return el("span", { class: "muted", title: "base64" }, value);
  try {
    const parsed = JSON.parse(value);
    if (typeof parsed === "object" && parsed !== null) return el("pre", {}, JSON.stringify(parsed, null, 2));
  } catch { /* not JSON: shown as text */ }
  return el("pre", {}, value);
}

function time(ms) {
  return ms >= 0 ? new Date(ms).toISOString().replace("T", " ").replace("Z", "") : "-";
}

// Runs fn now and every POLL_MS while `page` (the view's container) is the one shown.
function every(page, fn) {
  if (!page.isConnected) return;
  fn();
  const id = setInterval(() => {
    if (!page.isConnected) clearInterval(id);
    else fn();
  }, POLL_MS);
  timers.push(id);
}

function status(text, bad) {
  const s = document.getElementById("status");
  s.textContent = text;
  s.className = bad ? "error" : "";
}

function chartBox(title, legend) {
  const canvas = el("canvas");
  const box = el("div", { class: "chart" }, el("div", { class: "title" }, title),
    el("div", { class: "legend" }, legend.map(([name, color]) => el("span", { style: "color:" + color }, "■ " + name))),
    canvas);
  return { box, canvas };
}

// ------------------------------------------------------------------ overview

const history = { throughput: [[], []], messages: [], latency: [[], []] };
let lastScrape = null;

async function scrape() {
  const samples = parseMetrics(await (await fetch("/metrics")).text());
  const now = Date.now();
  if (lastScrape) {
    const secs = (now - lastScrape.at) / 1000;
    const rate = (name) => Math.max(0, (sum(samples, name) - sum(lastScrape.samples, name)) / secs);
    history.throughput[0].push([now, rate("kafka_server_brokertopicmetrics_bytesin_total")]);
    history.throughput[1].push([now, rate("kafka_server_brokertopicmetrics_bytesout_total")]);
    history.messages.push([now, rate("kafka_server_brokertopicmetrics_messagesin_total")]);
    history.latency[0].push([now, quantile(lastScrape.samples, samples, "Produce", 0.99) ?? 0]);
    history.latency[1].push([now, quantile(lastScrape.samples, samples, "Fetch", 0.99) ?? 0]);
    for (const list of [history.messages, ...history.throughput, ...history.latency]) {
      while (list.length && list[0][0] < now - SPAN_MS) list.shift();
    }
  }
  lastScrape = { at: now, samples };
  return samples;
}

async function overview(page) {
  page.append(el("h1", {}, "Overview"));
  const cards = el("div", { class: "cards" });
  const tp = chartBox("Throughput (bytes/s)", [["in", "#1f6feb"], ["out", "#d9480f"]]);
  const msgs = chartBox("Records produced per second", [["records in", "#2b8a3e"]]);
  const lat = chartBox("Request latency, p99 (ms)", [["Produce", "#1f6feb"], ["Fetch", "#d9480f"]]);
  page.append(cards, el("div", { class: "charts", id: "overview-charts" }, tp.box, msgs.box, lat.box));
  every(page, async () => {
    let samples, groups, pipelines;
    try {
      [samples, groups, pipelines] = await Promise.all([scrape(), api("/v1/groups"), api("/v1/pipelines")]);
      status("");
    } catch (e) {
      status(e.message, true);
      return;
    }
    const card = (label, value) => el("div", { class: "card" }, el("div", { class: "label" }, label), el("div", { class: "value" }, value));
    cards.replaceChildren(
      card("Topics", sum(samples, "kafka_controller_kafkacontroller_globaltopiccount")),
      card("Partitions", sum(samples, "kafka_server_replicamanager_partitioncount")),
      card("Connections", sum(samples, "kafka_server_socketservermetrics_connection_count")),
      card("Consumer groups", groups.length),
      card("Pipelines", pipelines.filter((p) => p.name).length),
      card("Records in, total", Charts.label(sum(samples, "kafka_server_brokertopicmetrics_messagesin_total"), "")));
    Charts.draw(tp.canvas, [{ color: "#1f6feb", points: history.throughput[0] }, { color: "#d9480f", points: history.throughput[1] }], { unit: "B", spanMs: SPAN_MS });
    Charts.draw(msgs.canvas, [{ color: "#2b8a3e", points: history.messages }], { spanMs: SPAN_MS });
    Charts.draw(lat.canvas, [{ color: "#1f6feb", points: history.latency[0] }, { color: "#d9480f", points: history.latency[1] }], { unit: "ms", spanMs: SPAN_MS });
  });
}

// ------------------------------------------------------------------ topics

async function topics(page) {
  page.append(el("h1", {}, "Topics"));
  const list = await api("/v1/topics");
  page.append(table(["Name", "Partitions", "Internal", "Id"],
    list.filter((t) => !t.internal).concat(list.filter((t) => t.internal))
      .map((t) => [el("a", { href: "#/topics/" + encodeURIComponent(t.name) }, t.name), t.partitions, t.internal ? "yes" : "", t.id]), [1]));
}

async function topic(page, name) {
  const t = await api("/v1/topics/" + encodeURIComponent(name));
  page.append(el("h1", {}, "Topic " + name));
  page.append(table(["Partition", "Log start", "Log end", "Last stable", "Bytes", "Segments"],
    t.partitions.map((p) => [p.partition, p.log_start_offset, p.log_end_offset, p.last_stable_offset, p.size_bytes, p.segments]), [0, 1, 2, 3, 4, 5]));
  if (Object.keys(t.configs || {}).length) {
    page.append(el("h2", {}, "Configs set on it"), table(["Key", "Value"], Object.entries(t.configs)));
  }

  // The message browser: the tail of a partition, or from an offset, page by page.
  page.append(el("h2", {}, "Messages"));
  const partition = el("select", { id: "browse-partition" }, t.partitions.map((p) => el("option", { value: p.partition }, "partition " + p.partition)));
  const mode = el("select", { id: "browse-mode" }, el("option", { value: "tail" }, "last"), el("option", { value: "offset" }, "from offset"));
  const amount = el("input", { id: "browse-amount", type: "number", min: 0, value: 20, style: "width:90px" });
  const isolation = el("select", { id: "browse-isolation" }, el("option", { value: "read_uncommitted" }, "read_uncommitted"), el("option", { value: "read_committed" }, "read_committed"));
  const follow = el("input", { id: "browse-follow", type: "checkbox" });
  const body = el("div", { id: "browse-records" });
  let next = null;
  for (const control of [partition, mode, isolation]) control.addEventListener("change", () => { next = null; });
  const load = async (more) => {
    const q = new URLSearchParams({ isolation: isolation.value, limit: 100 });
    if (more && next !== null) q.set("offset", next);
    else if (mode.value === "tail") q.set("tail", Math.max(1, Math.min(1000, +amount.value || 20)));
    else q.set("offset", Math.max(0, +amount.value || 0));
    try {
      const r = await api(`/v1/topics/${encodeURIComponent(name)}/partitions/${partition.value}/records?${q}`);
      next = r.next_offset;
      const rows = r.records.map((x) => [x.offset, time(x.timestamp), pretty(x.key, x.key_encoding), pretty(x.value, x.value_encoding),
        el("span", { class: "headers" }, x.headers.map((h) => el("span", {}, h.key + ": " + (h.value ?? "null"))))]);
      const view = table(["Offset", "Timestamp", "Key", "Value", "Headers"], rows, [0]);
      if (more) body.querySelector("tbody").append(...view.querySelector("tbody").children);
      else body.replaceChildren(el("p", { class: "muted" }, `offsets ${r.log_start_offset}–${r.high_watermark} (last stable ${r.last_stable_offset})`), view);
      status("");
    } catch (e) { status(e.message, true); }
  };
  page.append(el("div", { class: "controls" }, el("label", {}, "Partition"), partition, mode, amount, isolation,
    el("button", { id: "browse-load", onclick: () => load(false) }, "Show"),
    el("button", { class: "secondary", id: "browse-more", onclick: () => load(true) }, "Next page"),
    el("label", {}, follow, " follow the tail")), body);
  if (!page.isConnected) return;
  load(false);
  every(page, () => { if (follow.checked && mode.value === "tail") load(false); });
}

// ------------------------------------------------------------------ groups

async function groups(page) {
  page.append(el("h1", {}, "Consumer groups"));
  const list = await api("/v1/groups");
  page.append(list.length ? table(["Group", "State", "Type", "Protocol type"],
    list.map((g) => [el("a", { href: "#/groups/" + encodeURIComponent(g.group_id) }, g.group_id), g.state, g.type, g.protocol_type || ""]))
    : el("p", { class: "muted" }, "No consumer groups yet."));
}

const lagHistory = new Map();  // group -> [[time, lag]]

async function group(page, id) {
  page.append(el("h1", {}, "Group " + id));
  const head = el("div", { class: "cards" });
  const lag = chartBox("Lag over time (records)", [["lag", "#d9480f"]]);
  const offsets = el("div", { id: "group-offsets" });
  const members = el("div");
  page.append(head, el("div", { class: "charts" }, lag.box), el("h2", {}, "Offsets"), offsets, el("h2", {}, "Members"), members);
  const points = lagHistory.get(id) || [];
  lagHistory.set(id, points);
  every(page, async () => {
    try {
      const g = await api("/v1/groups/" + encodeURIComponent(id));
      points.push([Date.now(), g.lag]);
      while (points.length && points[0][0] < Date.now() - SPAN_MS) points.shift();
      const card = (label, value) => el("div", { class: "card" }, el("div", { class: "label" }, label), el("div", { class: "value" }, value));
      head.replaceChildren(card("State", g.state), card("Members", g.members.length), card("Lag", g.lag));
      offsets.replaceChildren(table(["Topic", "Partition", "Committed", "Log end", "Lag"],
        g.offsets.map((o) => [o.topic, o.partition, o.committed_offset, o.log_end_offset, o.lag]), [1, 2, 3, 4]));
      members.replaceChildren(g.members.length ? table(["Member", "Instance", "Client", "Host"],
        g.members.map((m) => [m.member_id, m.instance_id ?? "", m.client_id, m.client_host]))
        : el("p", { class: "muted" }, "No members."));
      Charts.draw(lag.canvas, [{ color: "#d9480f", points }], { spanMs: SPAN_MS });
      status("");
    } catch (e) { status(e.message, true); }
  });
}

// ------------------------------------------------------------------ pipelines

function stateBadge(state) {
  return el("span", { class: "state" + (state.startsWith("failed") ? " bad" : state === "paused" ? " paused" : "") }, state);
}

async function pipelines(page) {
  page.append(el("h1", {}, "Pipelines"));
  const list = await api("/v1/pipelines");
  page.append(list.length ? table(["Pipeline", "State", "Tasks", "Records in", "Records out", "Late", "Dead-lettered", "Commits"],
    list.map((p) => [p.name ? el("a", { href: "#/pipelines/" + encodeURIComponent(p.name) }, p.name) : p.file, stateBadge(p.state),
      p.tasks, p.records_in, p.records_out, p.late, p.dead_lettered, p.commits]), [2, 3, 4, 5, 6, 7])
    : el("p", { class: "muted" }, "No pipelines."));
}

// A result's value: a window's top list as a ranked table, other JSON pretty-printed.
function resultView(value) {
  if (value && Array.isArray(value.top)) {
    const w = value.window ? `window ${time(value.window.start)} – ${time(value.window.end)}` : "";
    return el("div", {}, el("div", { class: "muted" }, w),
      table(["#", "Key", "Count"], value.top.map((t, i) => [i + 1, t.key, t.count]), [0, 2]));
  }
  return el("pre", {}, typeof value === "string" ? value : JSON.stringify(value, null, 2));
}

async function pipeline(page, name) {
  page.append(el("h1", {}, "Pipeline " + name));
  const head = el("div", { class: "cards" });
  const actions = el("div", { class: "controls" });
  const results = el("div", { id: "pipeline-results" });
  const yaml = el("pre", { class: "yaml", id: "pipeline-yaml" });
  page.append(head, actions, el("h2", {}, "Latest results"), results, el("h2", {}, "Definition"), yaml);
  let shownYaml = null;
  every(page, async () => {
    try {
      const [p, r] = await Promise.all([api("/v1/pipelines/" + encodeURIComponent(name)),
        api(`/v1/pipelines/${encodeURIComponent(name)}/results?limit=30&by_key=true`)]);
      const card = (label, value) => el("div", { class: "card" }, el("div", { class: "label" }, label), el("div", { class: "value" }, value));
      head.replaceChildren(card("State", stateBadge(p.state)), card("Tasks", p.tasks), card("Records in", p.records_in),
        card("Records out", p.records_out), card("Late", p.late), card("Dead-lettered", p.dead_lettered));
      if (p.yaml !== shownYaml) yaml.textContent = shownYaml = p.yaml;
      const action = p.state === "paused" ? "resume" : "pause";
      actions.replaceChildren(el("button", { class: "secondary", onclick: async () => {
        try { await api(`/v1/pipelines/${encodeURIComponent(name)}/${action}`, { method: "POST" }); } catch (e) { status(e.message, true); }
      } }, action === "pause" ? "Pause" : "Resume"));
      // Windowed top lists: the newest window's list; other results: a row per key.
      const windows = r.results.filter((x) => x.value && Array.isArray(x.value.top));
      if (windows.length) {
        windows.sort((a, b) => (b.value.window?.end ?? 0) - (a.value.window?.end ?? 0));
        results.replaceChildren(resultView(windows[0].value));
      } else {
        results.replaceChildren(r.results.length ? table(["Key", "Value", "Partition", "Timestamp"],
          r.results.map((x) => [x.key ?? "null", resultView(x.value), x.partition, time(x.timestamp)]))
          : el("p", { class: "muted" }, "No results yet."));
      }
      status("");
    } catch (e) { status(e.message, true); }
  });
}

// ------------------------------------------------------------------ routing

const routes = [
  [/^#?\/?$/, "overview", overview],
  [/^#\/topics$/, "topics", topics],
  [/^#\/topics\/(.+)$/, "topics", topic],
  [/^#\/groups$/, "groups", groups],
  [/^#\/groups\/(.+)$/, "groups", group],
  [/^#\/pipelines$/, "pipelines", pipelines],
  [/^#\/pipelines\/(.+)$/, "pipelines", pipeline],
];

async function render() {
  for (const t of timers) clearInterval(t);
  timers = [];
  // A fresh container per render: a view still awaiting its first answer writes into its own,
  // which is no longer shown.
  const page = el("div");
  document.getElementById("page").replaceChildren(page);
  status("");
  for (const [pattern, section, view] of routes) {
    const m = location.hash.match(pattern);
    if (!m) continue;
    for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("active", a.dataset.section === section);
    try {
      await view(page, ...m.slice(1).map(decodeURIComponent));
    } catch (e) {
      page.append(el("p", { class: "error" }, e.message));
    }
    return;
  }
  page.append(el("p", { class: "error" }, "No such page: " + location.hash));
}

async function start() {
  try {
    const c = await api("/v1/cluster");
    document.getElementById("cluster").textContent = `cluster ${c.cluster_id} · ${c.brokers.length} broker(s)`;
  } catch (e) { status(e.message, true); }
  window.addEventListener("hashchange", render);
  render();
}

start();
