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
  // A standby is healthy too: it serves the live stream and takes over when the leader goes.
  badge($("role"), s.role, s.role === "leader" ? "ok" : "warn");
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
  renderImports(s.imports || []);
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

function renderImports(runs) {
  $("imports-panel").style.display = runs.length ? "block" : "none";
  const body = $("imports"); body.replaceChildren();
  for (const run of runs) {
    const row = document.createElement("tr");
    row.dataset.import = run.name;
    cell(row, run.name); cell(row, run.state, run.state === "failed" ? "ev-delete" : run.state === "running" ? "ev-update" : "ev-insert");
    cell(row, run.total ? `${run.records.toLocaleString()} / ${run.total.toLocaleString()}` : run.records.toLocaleString());
    cell(row, run.inserted.toLocaleString()); cell(row, run.dead_lettered); cell(row, run.rate_limited); cell(row, run.retries);
    cell(row, run.rate ? Math.round(run.rate).toLocaleString() + "/s" : "");
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
