/// The live dashboard served at `/`: one self-contained page (no build step,
/// nothing from a CDN). It polls `/api/status`, `/readyz`, `/api/changes`
/// and `/api/dlq`, draws lag and throughput on canvases, sends dead-letter
/// retries and discards with the admin token typed into it (kept in the
/// browser's session storage), and shows every document change live over
/// `/ws`. All data is inserted with `textContent`, never as HTML.
enum DashboardPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>HackSync</title>
<style>
  :root { --bg:#0f1419; --panel:#182029; --line:#2a3540; --text:#d8dee4; --muted:#8b98a5;
          --ok:#3fb950; --warn:#d29922; --bad:#f85149; --accent:#58a6ff; --accent2:#bc8cff; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; gap:16px; align-items:center; padding:12px 20px; border-bottom:1px solid var(--line); flex-wrap:wrap; }
  header h1 { font-size:18px; margin:0 8px 0 0; }
  .badge { padding:2px 10px; border-radius:12px; font-weight:600; font-size:12px; background:var(--line); }
  .ok { background:rgba(63,185,80,.18); color:var(--ok); }
  .warn { background:rgba(210,153,34,.18); color:var(--warn); }
  .bad { background:rgba(248,81,73,.18); color:var(--bad); }
  .muted { color:var(--muted); }
  #problems { margin:0; padding:8px 20px; background:rgba(248,81,73,.12); color:var(--bad); display:none; }
  main { padding:16px 20px; display:grid; gap:16px; grid-template-columns: repeat(12, 1fr); }
  .panel { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px 14px; min-width:0; }
  .panel h2 { font-size:13px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); margin:0 0 8px; }
  .cards { grid-column: span 12; display:grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap:12px; }
  .card .value { font-size:24px; font-weight:600; font-variant-numeric: tabular-nums; }
  .card .label { color:var(--muted); font-size:12px; }
  .half { grid-column: span 6; } .full { grid-column: span 12; }
  @media (max-width: 900px) { .half { grid-column: span 12; } }
  canvas { width:100%; height:180px; display:block; }
  table { width:100%; border-collapse:collapse; font-size:13px; }
  th, td { text-align:left; padding:4px 6px; border-bottom:1px solid var(--line); vertical-align:top; }
  th { color:var(--muted); font-weight:500; }
  td.reason { max-width:420px; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
  button { background:var(--line); color:var(--text); border:1px solid #3a4754; border-radius:5px; padding:2px 10px; cursor:pointer; }
  button:hover { border-color:var(--accent); }
  input { background:var(--bg); color:var(--text); border:1px solid var(--line); border-radius:5px; padding:3px 8px; }
  #feed { list-style:none; margin:0; padding:0; max-height:320px; overflow:auto; font:12px/1.5 ui-monospace, monospace; }
  #feed li { padding:2px 0; border-bottom:1px solid var(--line); white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
  .ev-insert { color:var(--ok); } .ev-update { color:var(--accent); } .ev-delete { color:var(--bad); }
  .legend span { margin-right:12px; font-size:12px; }
  .legend i { display:inline-block; width:10px; height:3px; vertical-align:middle; margin-right:4px; }
  #toast { position:fixed; right:16px; bottom:16px; background:var(--panel); border:1px solid var(--line); padding:8px 12px; border-radius:6px; display:none; }
</style>
</head>
<body>
<header>
  <h1>HackSync</h1>
  <span id="health" class="badge">…</span>
  <span>Elasticsearch <span id="es" class="badge">…</span></span>
  <span>Circuit <span id="circuit" class="badge">…</span></span>
  <span>Live feed <span id="ws-state" class="badge">…</span></span>
  <span class="muted" id="updated"></span>
</header>
<p id="problems"></p>
<main>
  <section class="cards">
    <div class="panel card"><div class="value" id="backlog">–</div><div class="label">backlog (changes pending)</div></div>
    <div class="panel card"><div class="value" id="oldest">–</div><div class="label">oldest pending change</div></div>
    <div class="panel card"><div class="value" id="lag-p50">–</div><div class="label">lag p50 (commit → indexed)</div></div>
    <div class="panel card"><div class="value" id="lag-p99">–</div><div class="label">lag p99</div></div>
    <div class="panel card"><div class="value" id="throughput">–</div><div class="label">documents / s</div></div>
    <div class="panel card"><div class="value" id="dlq-count">–</div><div class="label">dead letters open</div></div>
    <div class="panel card"><div class="value" id="ws-connections">–</div><div class="label">WebSocket clients</div></div>
    <div class="panel card"><div class="value" id="latest-seq">–</div><div class="label">latest change seq</div></div>
  </section>
  <section class="panel half">
    <h2>Sync lag, last 5 minutes</h2>
    <canvas id="lag-chart"></canvas>
    <div class="legend"><span><i style="background:var(--accent)"></i>last batch</span><span><i style="background:var(--accent2)"></i>p99</span><span class="muted" id="lag-scale"></span></div>
  </section>
  <section class="panel half">
    <h2>Throughput and backlog, last 5 minutes</h2>
    <canvas id="throughput-chart"></canvas>
    <div class="legend"><span><i style="background:var(--ok)"></i>documents/s</span><span><i style="background:var(--warn)"></i>backlog</span><span class="muted" id="throughput-scale"></span></div>
  </section>
  <section class="panel full">
    <h2>Dead letters</h2>
    <p class="muted" style="margin:0 0 8px">Retry and discard need the admin token:
      <input id="token" type="password" placeholder="HACKSYNC_ADMIN_TOKEN" autocomplete="off"></p>
    <table><thead><tr><th>id</th><th>document</th><th>error</th><th>attempts</th><th>first seen</th><th>last seen</th><th></th></tr></thead>
      <tbody id="dlq"></tbody></table>
    <p class="muted" id="dlq-empty" style="display:none">No open dead letters.</p>
  </section>
  <section class="panel half">
    <h2>Recent changes</h2>
    <table><thead><tr><th>seq</th><th>table</th><th>op</th><th>key</th><th>captured</th><th>state</th></tr></thead>
      <tbody id="changes"></tbody></table>
  </section>
  <section class="panel half">
    <h2>Live events</h2>
    <ul id="feed"></ul>
  </section>
  <section class="panel full" id="replication-panel" style="display:none">
    <h2>Logical replication (slots on this database)</h2>
    <table><thead><tr><th>slot</th><th>subscriber</th><th>state</th><th>lag</th><th>lag bytes</th><th>retained WAL</th><th>health</th></tr></thead>
      <tbody id="replication"></tbody></table>
  </section>
  <section class="panel full" id="jobs-panel">
    <h2>Index jobs</h2>
    <table><thead><tr><th>id</th><th>entity</th><th>mode</th><th>phase</th><th>progress</th><th>rate</th><th>reason</th></tr></thead>
      <tbody id="jobs"></tbody></table>
  </section>
</main>
<div id="toast"></div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const WINDOW = 300;               // seconds of history in the charts
const history = [];               // {t, lag, p99, rate, backlog}
let previous = null;              // last status, for the throughput delta

function text(el, value) { el.textContent = value; }
function seconds(s) {
  if (s === null || s === undefined) return "–";
  if (s < 1) return Math.round(s * 1000) + " ms";
  if (s < 120) return s.toFixed(1) + " s";
  return Math.round(s / 60) + " min";
}
function count(value) { return value === null || value === undefined ? "–" : value.toLocaleString(); }
function badge(el, label, kind) { el.textContent = label; el.className = "badge " + kind; }
function cell(row, value, className) {
  const td = document.createElement("td");
  td.textContent = value === null || value === undefined ? "" : String(value);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}
function toast(message) {
  const el = $("toast"); el.textContent = message; el.style.display = "block";
  clearTimeout(toast.timer); toast.timer = setTimeout(() => el.style.display = "none", 4000);
}
async function getJSON(path) {
  const response = await fetch(path, { cache: "no-store", signal: AbortSignal.timeout(5000) });
  const body = await response.json();
  return { ok: response.ok, status: response.status, body };
}

async function refreshStatus() {
  let status, ready;
  try {
    [status, ready] = await Promise.all([getJSON("/api/status"), getJSON("/readyz")]);
  } catch (error) {
    badge($("health"), "service unreachable", "bad");
    $("problems").style.display = "block";
    text($("problems"), "The HackSync service does not answer: " + error);
    return;
  }
  if (!status.ok) {
    badge($("health"), "status unavailable", "bad");
    $("problems").style.display = "block";
    text($("problems"), "/api/status answered " + status.status + ": " + (status.body.error || ""));
    return;
  }
  const s = status.body;
  const slotProblems = (s.replication || []).flatMap((slot) => slot.problems.map((p) => `replication slot ${slot.slot}: ${p}`));
  const reasons = (ready.body.reasons || []).concat(slotProblems);
  badge($("health"), ready.body.ready ? (slotProblems.length ? "ready, replication degraded" : "ready") : "not ready",
        ready.body.ready ? (slotProblems.length ? "warn" : "ok") : "bad");
  const problems = reasons.concat(s.sync.last_error && s.sync.consecutive_failures > 0 ? ["last sync error: " + s.sync.last_error] : []);
  $("problems").style.display = problems.length ? "block" : "none";
  text($("problems"), problems.join(" · "));
  const es = s.elasticsearch || {};
  badge($("es"), es.reachable ? (es.health || "reachable") : "unreachable",
        !es.reachable ? "bad" : es.health === "red" ? "bad" : es.health === "yellow" ? "warn" : "ok");
  const circuit = s.sync.circuit || "closed";
  badge($("circuit"), circuit, circuit === "closed" ? "ok" : circuit === "open" ? "bad" : "warn");
  text($("backlog"), count(s.capture.backlog));
  text($("oldest"), seconds(s.capture.oldest_pending_age_seconds));
  text($("lag-p50"), seconds(s.lag.p50_seconds));
  text($("lag-p99"), seconds(s.lag.p99_seconds));
  text($("dlq-count"), count(s.dead_letters));
  text($("ws-connections"), s.web_socket.connections.toLocaleString());
  text($("latest-seq"), count(s.capture.latest_seq));
  const now = Date.now() / 1000;
  const documents = s.sync.documents_written + s.sync.documents_deleted;
  let rate = 0;
  if (previous && now > previous.t) rate = Math.max(0, (documents - previous.documents) / (now - previous.t));
  previous = { t: now, documents };
  text($("throughput"), rate < 10 ? rate.toFixed(1) : Math.round(rate).toLocaleString());
  // While changes wait, the lag is at least the age of the oldest one (a
  // stalled sync has no new batches to measure).
  const waiting = s.capture.backlog > 0 ? (s.capture.oldest_pending_age_seconds || 0) : 0;
  history.push({ t: now, lag: Math.max(s.lag.last_seconds || 0, waiting), p99: s.lag.p99_seconds || 0,
                 rate, backlog: s.capture.backlog || 0 });
  while (history.length && history[0].t < now - WINDOW) history.shift();
  draw($("lag-chart"), [["lag", "#58a6ff"], ["p99", "#bc8cff"]], $("lag-scale"), seconds, true);
  draw($("throughput-chart"), [["rate", "#3fb950"], ["backlog", "#d29922"]], $("throughput-scale"), (v) => Math.round(v).toLocaleString(), false);
  renderJobs(s.index_jobs || []);
  renderReplication(s.replication || []);
  text($("updated"), "updated " + new Date().toLocaleTimeString());
}

function draw(canvas, series, scaleLabel, format, sameUnit) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  canvas.width = width * ratio; canvas.height = height * ratio;
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  g.clearRect(0, 0, width, height);
  g.strokeStyle = "#2a3540"; g.lineWidth = 1;
  for (let i = 1; i < 4; i++) { g.beginPath(); g.moveTo(0, height * i / 4); g.lineTo(width, height * i / 4); g.stroke(); }
  const now = Date.now() / 1000;
  // One scale for series of one unit; otherwise each series fills the height.
  const top = (keys) => Math.max(1e-9, ...history.flatMap((p) => keys.map((key) => p[key])));
  const shared = top(series.map(([key]) => key));
  const maxes = series.map(([key]) => sameUnit ? shared : top([key]));
  text(scaleLabel, "top: " + series.map(([key], i) => (sameUnit ? "" : key + " ") + format(maxes[i])).filter((v, i) => !sameUnit || i === 0).join(" · "));
  for (const [index, [key, color]] of series.entries()) {
    const max = maxes[index];
    g.strokeStyle = color; g.lineWidth = 2; g.beginPath();
    history.forEach((p, i) => {
      const x = width - (now - p.t) / WINDOW * width;
      const y = height - 4 - (p[key] / max) * (height - 8);
      i ? g.lineTo(x, y) : g.moveTo(x, y);
    });
    g.stroke();
  }
}

function renderJobs(jobs) {
  const body = $("jobs"); body.replaceChildren();
  for (const job of jobs) {
    const row = document.createElement("tr");
    cell(row, job.id); cell(row, job.entity); cell(row, job.mode); cell(row, job.phase);
    cell(row, job.total ? `${job.copied.toLocaleString()} / ${job.total.toLocaleString()}` : job.copied);
    cell(row, job.rate ? Math.round(job.rate) + "/s" : ""); cell(row, job.reason, "reason");
    body.appendChild(row);
  }
}

function bytes(n) {
  if (n < 1024) return n + " B";
  if (n < 1 << 20) return (n / 1024).toFixed(1) + " KiB";
  return (n / (1 << 20)).toFixed(1) + " MiB";
}

function renderReplication(slots) {
  $("replication-panel").style.display = slots.length ? "block" : "none";
  const body = $("replication"); body.replaceChildren();
  for (const slot of slots) {
    const row = document.createElement("tr");
    row.dataset.slot = slot.slot;
    cell(row, slot.slot); cell(row, slot.active ? "connected" : "not connected", slot.active ? "" : "ev-delete");
    cell(row, slot.state || "–"); cell(row, seconds(slot.lag_seconds)); cell(row, bytes(slot.lag_bytes));
    cell(row, bytes(slot.retained_bytes));
    cell(row, slot.problems.length ? slot.problems.join("; ") : "ok", slot.stalled ? "ev-delete" : slot.problems.length ? "ev-update" : "ev-insert");
    body.appendChild(row);
  }
}

async function refreshTables() {
  try {
    const [changes, dlq] = await Promise.all([getJSON("/api/changes?limit=12"), getJSON("/api/dlq?limit=50")]);
    const body = $("changes"); body.replaceChildren();
    for (const change of changes.body) {
      const row = document.createElement("tr");
      cell(row, change.seq); cell(row, change.table); cell(row, change.operation, "ev-" + change.operation);
      cell(row, (change.key || []).join(", ")); cell(row, new Date(change.captured_at).toLocaleTimeString());
      cell(row, change.state, change.state === "synced" ? "" : "ev-update");
      body.appendChild(row);
    }
    renderDeadLetters(dlq.body);
  } catch (error) { /* the status poll reports an unreachable service */ }
}

function renderDeadLetters(letters) {
  const body = $("dlq"); body.replaceChildren();
  $("dlq-empty").style.display = letters.length ? "none" : "block";
  for (const letter of letters) {
    const row = document.createElement("tr");
    row.dataset.id = letter.id;
    cell(row, letter.id); cell(row, `${letter.entity}/${letter.doc_id}`);
    cell(row, `${letter.error_type}: ${letter.error_reason}`, "reason").title = letter.error_reason;
    cell(row, letter.attempts, "attempts");
    cell(row, new Date(letter.first_seen).toLocaleString()); cell(row, new Date(letter.last_seen).toLocaleString());
    const actions = cell(row, "");
    for (const action of ["retry", "discard"]) {
      const button = document.createElement("button");
      button.textContent = action; button.className = action;
      button.onclick = () => act(letter.id, action);
      actions.appendChild(button); actions.appendChild(document.createTextNode(" "));
    }
    body.appendChild(row);
  }
}

async function act(id, action) {
  const token = $("token").value.trim();
  try {
    const response = await fetch(`/api/dlq/${id}/${action}`, {
      method: "POST", headers: token ? { Authorization: "Bearer " + token } : {}, signal: AbortSignal.timeout(10000) });
    let message = `${action} #${id}: ${response.status}`;
    try { const body = await response.json(); if (body.error) message += " " + body.error; } catch (e) {}
    toast(message);
  } catch (error) {
    toast(`${action} #${id} failed: ${error}`);
  }
  refreshTables();
}

let socketDelay = 500;
function connectFeed() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/ws`);
  badge($("ws-state"), "connecting", "warn");
  socket.onopen = () => {
    socketDelay = 500;
    badge($("ws-state"), "live", "ok");
    for (const channel of ["users", "hackathons", "projects"]) socket.send(JSON.stringify({ type: "subscribe", channel }));
  };
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.type !== "event") return;
    const item = document.createElement("li");
    const kind = document.createElement("span");
    kind.className = "ev-" + event.event; kind.textContent = event.event.padEnd(7);
    const data = event.data || {};
    const name = data.name || data.username || "";
    item.append(`${new Date(event.at).toLocaleTimeString()} #${event.seq} `, kind, ` ${event.channel}/${event.id} ${name}`);
    item.dataset.channel = event.channel; item.dataset.id = event.id;
    const feed = $("feed"); feed.prepend(item);
    while (feed.children.length > 100) feed.lastChild.remove();
  };
  socket.onclose = () => {
    badge($("ws-state"), "reconnecting", "bad");
    setTimeout(connectFeed, socketDelay); socketDelay = Math.min(socketDelay * 2, 10000);
  };
}

$("token").value = sessionStorage.getItem("hacksync.adminToken") || "";
$("token").addEventListener("change", () => sessionStorage.setItem("hacksync.adminToken", $("token").value.trim()));
// Each poll is scheduled when the previous one finished: a slow server never
// piles up requests.
function every(milliseconds, poll) {
  const run = async () => { try { await poll(); } finally { setTimeout(run, milliseconds); } };
  run();
}
connectFeed();
every(1000, refreshStatus);
every(2000, refreshTables);
</script>
</body>
</html>
"""#
}
