// tokenfab dashboard: plain JS over the JSON API (/api/...). Every number shown comes from the API, i.e. from the
// library; this file only formats and draws. Text from the server is always set with textContent (never innerHTML).
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

const state = { meta: null, tokens: {}, timers: {}, tcoOverrides: {}, computed: {} };
const DEFAULTS = { model: "llama-3.1-70b", hardware: "h100-sxm" };
const AUTO_VIEWS = new Set(["fit", "estimate", "tco", "frontier"]); // recompute as inputs change
const COLORS = ["#2f6fde", "#f79009", "#12b76a", "#9e77ed", "#f04438", "#0ba5ec", "#667085", "#ee46bc"];
const PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

// ---------------------------------------------------------------------------------------------- formatting
function fmt(x, digits) {
  if (x === null || x === undefined || typeof x !== "number" || !Number.isFinite(x)) return "–";
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k === "dataset") Object.assign(e.dataset, v); else e.setAttribute(k, v);
  }
  if (text !== undefined) e.textContent = text;
  return e;
}
function setOut(sec, key, text) { for (const n of $$(`[data-out="${key}"]`, sec)) n.textContent = text; }
function levelLabel(p) {
  if (p.mode === "closed") return `c=${p.concurrency}`;
  return typeof p.rate === "number" ? `${p.rate}/s` : `${p.rate}/s`;
}

// ---------------------------------------------------------------------------------------------- API
async function api(method, path, body, { raw = false, contentType } = {}) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    if (raw) { init.body = body; init.headers["Content-Type"] = contentType || "application/octet-stream"; }
    else { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
  }
  let res;
  try { res = await fetch(path, init); } catch (e) { return { ok: false, status: 0, data: { error: `network error: ${e.message}` } }; }
  let data;
  try { data = await res.json(); } catch (e) { data = { error: `HTTP ${res.status}` }; }
  return { ok: res.ok, status: res.status, data };
}

// ---------------------------------------------------------------------------------------------- forms and errors
function readForm(form) {
  const out = {};
  for (const e of form.elements) {
    if (!e.name || e.type === "file") continue;
    if (e.multiple) { out[e.name] = Array.from(e.selectedOptions).map((o) => o.value); continue; }
    const v = (e.value || "").trim();
    if (v === "") { out[e.name] = null; continue; }
    out[e.name] = e.dataset.type === "int" || e.dataset.type === "float" ? Number(v) : v;
  }
  return out;
}
function clearErrors(sec) {
  for (const s of $$(".field-error", sec)) s.textContent = "";
  for (const i of $$(".invalid", sec)) i.classList.remove("invalid");
  const b = $(".view-error", sec); b.hidden = true; b.textContent = "";
}
function showError(sec, data, status) {
  const msg = (data && data.error) || `request failed (HTTP ${status})`;
  const field = data && data.field;
  const banner = $(".view-error", sec);
  let slot = null;
  if (field) slot = $(`.field-error[data-error-for="${CSS.escape(field)}"]`, sec);
  if (slot) {
    slot.textContent = msg;
    const input = slot.parentElement.querySelector("input, select");
    if (input) input.classList.add("invalid");
    banner.textContent = `Check the input "${field}": see the message next to it.`;
  } else {
    banner.textContent = msg;
  }
  banner.hidden = false;
}

// runs one computation of a view; a newer run supersedes an older one still in flight
async function runView(name, work) {
  const sec = $(`#view-${name}`);
  const token = (state.tokens[name] = (state.tokens[name] || 0) + 1);
  sec.dataset.status = "busy";
  const r = await work();
  if (token !== state.tokens[name]) return;
  clearErrors(sec);
  if (r.ok) {
    $(".results", sec).hidden = false;
    try { await RENDER[name](sec, r.data); sec.dataset.status = "ok"; }
    catch (e) { showError(sec, { error: `could not draw the result: ${e.message}` }, 0); sec.dataset.status = "error"; }
    state.computed[name] = true;
  } else {
    showError(sec, r.data, r.status); sec.dataset.status = "error";
  }
  sec.dataset.seq = String(Number(sec.dataset.seq || 0) + 1);
}

// ---------------------------------------------------------------------------------------------- charts
function baseLayout(title, extra = {}) {
  return Object.assign({
    title: { text: title, font: { size: 14 }, x: 0.01, xanchor: "left" },
    margin: { l: 64, r: 20, t: 44, b: 90 }, paper_bgcolor: "#fff", plot_bgcolor: "#fff",
    font: { family: "system-ui, sans-serif", size: 12 }, height: 380,
    legend: { orientation: "h", x: 0, y: -0.2, yanchor: "top" },
  }, extra);
}
function plot(id, traces, layout) {
  if (!window.Plotly) throw new Error("Plotly.js did not load");
  return Plotly.react(id, traces, layout, PLOT_CONFIG);
}
function resizeCharts(sec) {
  if (!window.Plotly) return;
  for (const c of $$(".js-plotly-plot", sec)) Plotly.Plots.resize(c);
}

// ---------------------------------------------------------------------------------------------- Fit
async function computeFit() {
  const body = readForm($('[data-form="fit"]'));
  return api("POST", "/api/fit", body);
}
async function renderFit(sec, r) {
  const msg = $('[data-out="message"]', sec);
  msg.textContent = r.message;
  msg.className = "message " + (r.fits ? "ok" : "bad");
  setOut(sec, "memory_per_gpu_gib", fmt(r.memory_per_gpu_gib, 2));
  setOut(sec, "capacity_per_gpu_gib", fmt(r.capacity_per_gpu_gib, 2));
  setOut(sec, "headroom_per_gpu_gib", fmt(r.headroom_per_gpu_gib, 2));
  setOut(sec, "gpus", `${fmt(r.gpus, 0)} ${r.memory_kind === "SRAM" ? "chips" : "GPUs"}`);
  setOut(sec, "layout", `TP=${r.tp} PP=${r.pp} DP=${r.dp} EP=${r.ep}; ${r.weights_precision} weights, ${r.kv_precision} KV`);
  setOut(sec, "max_concurrent_sequences", fmt(r.max_concurrent_sequences, 0));
  setOut(sec, "chips_needed", fmt(r.chips_needed, 0));
  setOut(sec, "chips_needed_exact", fmt(r.chips_needed_exact, 2));
  setOut(sec, "nodes_needed", fmt(r.nodes_needed, 0));
  setOut(sec, "chips_per_node", fmt(r.chips_per_node, 0));
  setOut(sec, "racks_needed", fmt(r.racks_needed, 0));
  setOut(sec, "racks_needed_exact", fmt(r.racks_needed_exact, 3));
  setOut(sec, "chips_per_rack", fmt(r.chips_per_rack, 0));
  setOut(sec, "weights_gib", fmt(r.weights_gib, 2));
  setOut(sec, "weights_gb", fmt(r.weights_gb, 2));
  setOut(sec, "kv_cache_gib", fmt(r.kv_cache_gib, 2));
  setOut(sec, "units_note", r.units_note);
  const n = r.gpus;
  const unit = r.memory_kind === "SRAM" ? "chip" : "GPU";
  const x = n <= 64 ? Array.from({ length: n }, (_, i) => `${unit} ${i}`) : [`each of ${fmt(n, 0)} ${unit}s`];
  const parts = [["weights_gib", "weights"], ["kv_cache_gib", "KV cache"], ["activations_gib", "activations"],
    ["runtime_overhead_gib", "runtime overhead"]];
  const traces = parts.map(([k, label], i) => ({
    type: "bar", name: label, x, y: x.map(() => r.per_gpu[k]), marker: { color: COLORS[i] },
    hovertemplate: `${label}: %{y:.2f} GiB<extra></extra>`,
  }));
  const cap = r.capacity_per_gpu_gib;
  const layout = baseLayout(`Memory per ${unit} (GiB): ${r.model} on ${fmt(n, 0)} × ${r.hardware}`, {
    barmode: "stack", legend: { orientation: "h", x: 0, y: -0.12, yanchor: "top", traceorder: "normal" },
    yaxis: { title: { text: `GiB per ${unit}` }, rangemode: "tozero" },
    shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: cap, y1: cap, line: { color: "#b42318", width: 2, dash: "dash" } }],
    annotations: [{ xref: "paper", x: 1, y: cap, xanchor: "right", yanchor: "bottom", showarrow: false,
      text: `capacity ${fmt(cap, 1)} GiB`, font: { color: "#b42318" } }],
  });
  await plot("fit-chart", traces, layout);
}

// ---------------------------------------------------------------------------------------------- Estimate
async function computeEstimate() {
  const body = readForm($('[data-form="estimate"]'));
  if (body.concurrency === null) body.concurrency = "max";
  return api("POST", "/api/estimate", body);
}
async function renderEstimate(sec, e) {
  setOut(sec, "ttft_ms", fmt(e.ttft_ms, 1));
  setOut(sec, "tpot_ms", fmt(e.tpot_ms, 2));
  setOut(sec, "tokens_per_s_per_user", fmt(e.tokens_per_s_per_user, 1));
  setOut(sec, "output_tokens_per_s", fmt(e.output_tokens_per_s, 0));
  setOut(sec, "output_tokens_per_s_per_gpu", fmt(e.output_tokens_per_s_per_gpu, 0));
  setOut(sec, "total_tokens_per_s_per_gpu", fmt(e.total_tokens_per_s_per_gpu, 0));
  setOut(sec, "concurrency", fmt(e.concurrency, 0));
  setOut(sec, "concurrency_cap", fmt(e.concurrency_cap, 0));
  setOut(sec, "memory_per_gpu_gib", fmt(e.memory_per_gpu_gib, 2));
  setOut(sec, "decode_step_ms", fmt(e.decode_step_ms, 2));
  setOut(sec, "bound", e.bound);
  setOut(sec, "layout", `${e.model} on ${e.gpus} × ${e.hardware}: TP=${e.tp} PP=${e.pp} DP=${e.dp} EP=${e.ep}; ` +
    `${e.weights} weights, ${e.kv} KV, computed at ${e.compute_precision}; ISL ${e.isl} / OSL ${e.osl}; ` +
    `calibration ${e.calibration}. ${e.definitions.tpot_ms}.`);
  const ul = $('[data-out="warnings"]', sec);
  ul.replaceChildren(...(e.warnings || []).map((w) => el("li", {}, w)));
  const entries = Object.entries(e.breakdown).filter(([, v]) => v > 0).sort((a, b) => a[1] - b[1]);
  const total = entries.reduce((s, [, v]) => s + v, 0);
  const traces = [{
    type: "bar", orientation: "h", y: entries.map(([k]) => k.replace(/_/g, " ")), x: entries.map(([, v]) => v),
    marker: { color: COLORS[0] }, text: entries.map(([, v]) => `${fmt(v, 2)} ms (${fmt(100 * v / total, 0)}%)`),
    textposition: "auto", hovertemplate: "%{y}: %{x:.3f} ms<extra></extra>",
  }];
  await plot("estimate-chart", traces, baseLayout(
    `Where one decode step goes: ${fmt(e.decode_step_ms, 2)} ms at ${fmt(e.concurrency, 0)} concurrent sequences`, {
      margin: { l: 120, r: 20, t: 44, b: 56 }, xaxis: { title: { text: "ms per decode step" } }, showlegend: false,
    }));
}

// ---------------------------------------------------------------------------------------------- TCO
async function computeTco() {
  const f = readForm($('[data-form="tco"]'));
  const body = { hardware: f.hardware, preset: f.preset, overrides: state.tcoOverrides,
    total_tokens_per_s_per_gpu: f.total_tokens_per_s_per_gpu };
  return api("POST", "/api/tco", body);
}
function tcoInputValue(v) {
  if (v === null || v === undefined) return "";
  return String(Math.round(v * 1e9) / 1e9);
}
async function renderTco(sec, t) {
  setOut(sec, "usd_per_gpu_hour", fmt(t.usd_per_gpu_hour, 3));
  setOut(sec, "usd_per_gpu_hour_wallclock", fmt(t.usd_per_gpu_hour_wallclock, 3));
  setOut(sec, "utilization", fmt(t.utilization, 2));
  setOut(sec, "method", t.method);
  setOut(sec, "capex_usd_per_gpu_all_in", fmt(t.capex_usd_per_gpu_all_in, 0));
  setOut(sec, "life_spend_usd_per_gpu", fmt(t.life_spend_usd_per_gpu, 0));
  setOut(sec, "life_years", fmt(t.life_years, 1));
  setOut(sec, "kw_per_gpu_all_in", fmt(t.kw_per_gpu_all_in, 3));
  setOut(sec, "kw_per_gpu_it", fmt(t.kw_per_gpu_it, 3));
  const costCard = $('[data-show="cost"]', sec);
  costCard.hidden = !t.cost;
  setOut(sec, "usd_per_mtok_total", t.cost ? fmt(t.cost.usd_per_mtok_total, 4) : "–");
  // inputs table: every input with its value (editable), unit and source
  const tbody = $("#tco-inputs tbody");
  const rows = state.meta.tco_fields.map(({ name, unit }) => {
    const tr = el("tr", { dataset: { field: name } });
    const overridden = Object.prototype.hasOwnProperty.call(state.tcoOverrides, name);
    if (overridden) tr.classList.add("overridden");
    tr.append(el("td", {}, name));
    const td = el("td");
    const input = el("input", { type: "number", step: "any", name, "aria-label": name });
    input.value = overridden ? tcoInputValue(state.tcoOverrides[name]) : tcoInputValue(t.inputs[name]);
    input.placeholder = "not set";
    input.addEventListener("change", () => {
      const v = input.value.trim();
      if (v === "") delete state.tcoOverrides[name]; else state.tcoOverrides[name] = Number(v);
      scheduleRun("tco", 0);
    });
    td.append(input, el("span", { class: "field-error", dataset: { errorFor: name } }));
    tr.append(td, el("td", {}, unit));
    const src = t.sources[name] || (t.inputs[name] === null ? "not set" : "not used by this method");
    tr.append(el("td", { class: "src" + (src === "user" ? " user" : "") }, src));
    return tr;
  });
  tbody.replaceChildren(...rows);
  const ul = $('[data-out="notes"]', sec);
  ul.replaceChildren(...t.notes.map((n) => el("li", {}, n)));
  // breakdown chart ($ per busy GPU-hour); the capital bar split into depreciation and cost of capital
  const comps = Object.keys(t.breakdown).filter((k) => !(t.method === "price" && t.breakdown[k] === 0));
  const desc = t.component_descriptions || {};
  const traces = [];
  if (t.method === "owned") {
    traces.push({ type: "bar", name: "depreciation", x: comps, y: comps.map((k) => (k === "capital" ? t.capital_split.depreciation : null)), marker: { color: COLORS[0] } });
    traces.push({ type: "bar", name: "cost of capital", x: comps, y: comps.map((k) => (k === "capital" ? t.capital_split.cost_of_capital : null)), marker: { color: "#84adff" } });
  }
  traces.push({ type: "bar", name: t.method === "owned" ? "other components" : "price", x: comps,
    y: comps.map((k) => (t.method === "owned" && k === "capital" ? null : t.breakdown[k])), marker: { color: COLORS[1] },
    customdata: comps.map((k) => desc[k] || ""), hovertemplate: "%{x}: $%{y:.4f}/GPU-h<br>%{customdata}<extra></extra>" });
  await plot("tco-chart", traces, baseLayout(
    `${t.hardware} (${t.preset}): $${fmt(t.usd_per_gpu_hour, 3)} per busy GPU-hour`, {
      barmode: "stack", yaxis: { title: { text: "USD per busy GPU-hour" } },
    }));
  const shareKeys = comps.filter((k) => t.shares[k] > 0);
  await plot("tco-share-chart", [{
    type: "pie", hole: 0.45, labels: shareKeys, values: shareKeys.map((k) => t.shares[k]), sort: false,
    marker: { colors: COLORS }, textinfo: "label+percent", hovertemplate: "%{label}: %{percent}<extra></extra>",
  }], baseLayout("Share of life spend", { showlegend: false }));
}

// ---------------------------------------------------------------------------------------------- Bench
async function computeBench() {
  const form = $('[data-form="bench"]');
  const file = form.elements.file.files[0];
  if (!file) return { ok: false, status: 0, data: { error: "choose a results JSONL file (written by tokenfab bench)", field: "file" } };
  const f = readForm(form);
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v !== null && v !== undefined) q.set(k, String(v));
  return api("POST", `/api/bench?${q}`, file, { raw: true, contentType: "application/x-ndjson" });
}
function benchCell(tr, v, digits, cls = "num") { tr.append(el("td", { class: cls }, typeof v === "number" ? fmt(v, digits) : (v ?? "–"))); }
// a data table: a header row, then one row per item; cells(tr, item, i) fills each row
function fillTable(table, headers, items, cells) {
  const head = el("tr");
  for (const h of headers) head.append(el("th", {}, h));
  table.replaceChildren(el("thead"), el("tbody"));
  table.tHead.append(head);
  table.tBodies[0].append(...items.map((it, i) => { const tr = el("tr"); cells(tr, it, i); return tr; }));
}
async function renderBench(sec, d) {
  const pts = d.points;
  setOut(sec, "records", fmt(d.records, 0));
  setOut(sec, "unreadable_lines", fmt(d.unreadable_lines, 0));
  setOut(sec, "levels", fmt(pts.length, 0));
  setOut(sec, "usd_per_gpu_hour", fmt(d.usd_per_gpu_hour, 3));
  const cmp = d.comparison;
  setOut(sec, "comparison_note", cmp ? `${cmp.model} on ${cmp.hardware}: ${cmp.note}` : "No model comparison: pick a model (and the hardware) to compare.");
  const labels = pts.map(levelLabel);
  const traces = [{
    type: "scatter", mode: "lines+markers+text", name: "measured", x: pts.map((p) => p.tokens_per_s_per_user),
    y: pts.map((p) => p.total_tokens_per_s_per_gpu), text: labels, textposition: "top center", marker: { size: 9, color: COLORS[0] },
    hovertemplate: "%{text}: %{y:.1f} tok/s/GPU at %{x:.1f} tok/s/user<extra>measured</extra>",
  }];
  if (cmp) {
    const rows = cmp.rows;
    traces.push({
      type: "scatter", mode: "lines+markers", name: "predicted (tokenfab.serving)", line: { dash: "dash" },
      x: rows.map((r) => (r.tokens_per_s_per_user ? r.tokens_per_s_per_user.predicted : null)),
      y: rows.map((r) => (r.total_tokens_per_s_per_gpu ? r.total_tokens_per_s_per_gpu.predicted : null)),
      text: labels, marker: { size: 9, symbol: "diamond", color: COLORS[1] },
      hovertemplate: "%{text}: %{y:.1f} tok/s/GPU at %{x:.1f} tok/s/user<extra>predicted</extra>",
    });
  }
  await plot("bench-chart", traces, baseLayout("Throughput per GPU against interactivity", {
    xaxis: { title: { text: "tokens/s per user (median 1000/TPOT)" } },
    yaxis: { title: { text: "total tokens/s per GPU" }, rangemode: "tozero" },
  }));
  await plot("bench-cost-chart", [
    { type: "bar", name: "$/M total tokens", x: labels, y: pts.map((p) => p.usd_per_mtok_total), marker: { color: COLORS[0] } },
    { type: "bar", name: "$/M output tokens", x: labels, y: pts.map((p) => p.usd_per_mtok_output), marker: { color: COLORS[1] } },
  ], baseLayout(`Cost per million tokens at $${fmt(d.usd_per_gpu_hour, 3)}/GPU-h`, { barmode: "group", yaxis: { title: { text: "USD per M tokens" } } }));
  // table: measured (and predicted) per level
  const keys = [["tokens_per_s_per_user", "user tok/s", 1], ["total_tokens_per_s_per_gpu", "total tok/s/GPU", 1],
    ["tpot_ms_p50", "TPOT p50 ms", 2], ["ttft_ms_p50", "TTFT p50 ms", 1]];
  const headers = ["level"];
  for (const [, label] of keys) headers.push(`${label} measured`, ...(cmp ? ["predicted", "error"] : []));
  headers.push("$/M total", "$/M output", "ok / failed");
  fillTable($("#bench-table"), headers, pts, (tr, p, i) => {
    tr.dataset.level = labels[i];
    tr.append(el("td", {}, labels[i]));
    for (const [k, , digits] of keys) {
      benchCell(tr, p[k], digits);
      if (cmp) {
        const c = cmp.rows[i] && cmp.rows[i][k];
        benchCell(tr, c ? c.predicted : null, digits);
        benchCell(tr, c && typeof c.relative_error === "number" ? `${c.relative_error >= 0 ? "+" : ""}${fmt(100 * c.relative_error, 1)}%` : "–", 0);
      }
    }
    benchCell(tr, p.usd_per_mtok_total, 4);
    benchCell(tr, p.usd_per_mtok_output, 4);
    benchCell(tr, `${p.requests_ok} / ${p.requests_failed}`, 0);
  });
}

// ---------------------------------------------------------------------------------------------- Frontier
async function computeFrontier() {
  const body = readForm($('[data-form="frontier"]'));
  if (!body.hardware || body.hardware.length === 0) {
    return { ok: false, status: 0, data: { error: "pick at least one hardware", field: "hardware" } };
  }
  if (body.target_interactivity === null) delete body.target_interactivity;
  return api("POST", "/api/frontier", body);
}
function configLabel(p) {
  const c = p.config;
  let s = `${c.gpus} GPU${c.gpus > 1 ? "s" : ""} ${p.layout}, ${c.weights}, concurrency ${c.concurrency}`;
  if (c.mtp) s += `, MTP ${c.mtp.draft_tokens}`;
  return s;
}
function tierCard(name, desc, p) {
  const card = el("div", { class: "card", dataset: { tier: name } });
  card.append(el("div", { class: "label" }, `${name}: ${desc}`));
  if (!p) { card.append(el("div", { class: "value" }, "–"), el("div", { class: "unit" }, "no point qualifies")); return card; }
  card.append(el("div", { class: "value" }, p.usd_per_mtok_total === null ? "–" : `$${fmt(p.usd_per_mtok_total, 3)}`));
  card.append(el("div", { class: "unit" }, `per M tokens · ${p.hardware} (${p.mode})`));
  card.append(el("div", { class: "unit" }, `${fmt(p.tokens_per_s_per_user, 1)} tok/s/user · ${fmt(p.total_tokens_per_s_per_gpu, 0)} tok/s/GPU`));
  card.append(el("div", { class: "unit" }, configLabel(p)));
  return card;
}
async function renderFrontier(sec, d) {
  const t = d.tiers;
  $('[data-out="tiers"]', sec).replaceChildren(
    tierCard("bulk", t.definitions.bulk, t.bulk), tierCard("goldilocks", t.definitions.goldilocks, t.goldilocks),
    tierCard("premium", t.definitions.premium, t.premium));
  const hwKeys = Object.keys(d.hardware);
  const groups = new Map();
  for (const p of d.points) {
    const k = `${p.hardware} · ${p.mode}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(p);
  }
  const traces = [];
  for (const [k, pts] of groups) {
    pts.sort((a, b) => a.tokens_per_s_per_user - b.tokens_per_s_per_user);
    const color = COLORS[hwKeys.indexOf(pts[0].hardware) % COLORS.length];
    traces.push({
      type: "scatter", mode: "lines+markers", name: k, x: pts.map((p) => p.tokens_per_s_per_user),
      y: pts.map((p) => p.total_tokens_per_s_per_gpu), line: { color, dash: pts[0].mode === "disagg" ? "dash" : "solid", shape: "hv" },
      marker: { color, size: 6 }, customdata: pts.map((p) => [configLabel(p), p.usd_per_mtok_total === null ? "–" : fmt(p.usd_per_mtok_total, 3)]),
      hovertemplate: "%{x:.1f} tok/s/user, %{y:.0f} tok/s/GPU<br>%{customdata[0]}<br>$%{customdata[1]}/M tokens<extra>" + k + "</extra>",
    });
  }
  const U = d.at_target.target_interactivity;
  await plot("frontier-chart", traces, baseLayout(`Pareto frontiers: ${d.model}, ISL ${d.isl} / OSL ${d.osl} (${d.points.length} frontier points of ${fmt(d.evaluated, 0)} evaluated)`, {
    height: 420, xaxis: { title: { text: "tokens/s per user (interactivity, log scale)" }, type: "log",
      tickvals: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000], ticktext: ["1", "2", "5", "10", "20", "50", "100", "200", "500", "1k", "2k", "5k"] },
    yaxis: { title: { text: "total tokens/s per GPU" }, rangemode: "tozero" },
    shapes: [{ type: "line", xref: "x", yref: "paper", x0: U, x1: U, y0: 0, y1: 1, line: { color: "#b42318", dash: "dot", width: 1.5 } }],
    annotations: [{ xref: "x", yref: "paper", x: Math.log10(U), y: 1, yanchor: "bottom", showarrow: false, text: `target ${fmt(U, 0)} tok/s/user`, font: { color: "#b42318" } }],
  }));
  const rows = d.at_target.results;
  const labels = rows.map((r) => `${r.hardware} · ${r.mode}`);
  await plot("frontier-cost-chart", [{
    type: "bar", x: labels, y: rows.map((r) => r.usd_per_mtok_total), marker: { color: rows.map((r) => COLORS[hwKeys.indexOf(r.hardware) % COLORS.length]) },
    text: rows.map((r) => (r.usd_per_mtok_total === null ? (r.achievable ? "no price" : "not reachable") : `$${fmt(r.usd_per_mtok_total, 3)}`)),
    textposition: "outside", hovertemplate: "%{x}: $%{y:.4f} per M tokens<extra></extra>",
  }], baseLayout(`Cost at ${fmt(U, 0)} tokens/s per user (USD per million total tokens, preset ${d.preset})`, {
    showlegend: false, yaxis: { title: { text: "USD per M tokens" }, rangemode: "tozero" },
  }));
  fillTable($("#frontier-table"), ["hardware", "mode", "total tok/s/GPU", "$/M total", "$/M output", "tok/s per MW", "note"],
    rows, (tr, r) => {
      Object.assign(tr.dataset, { hardware: r.hardware, mode: r.mode });
      tr.append(el("td", {}, r.hardware), el("td", {}, r.mode));
      benchCell(tr, r.total_tokens_per_s_per_gpu, 1);
      benchCell(tr, r.usd_per_mtok_total, 4);
      benchCell(tr, r.usd_per_mtok_output, 4);
      benchCell(tr, r.tokens_per_s_per_mw, 0);
      tr.append(el("td", {}, r.note || ""));
    });
  setOut(sec, "summary", `${fmt(d.evaluated, 0)} configurations evaluated in ${fmt(d.elapsed_s, 2)} s; weights ${d.weights.join(", ")}; ` +
    `modes ${d.modes.join(", ")}; SLA ${slaText(d.sla)}. ${d.definitions.pareto}. $/GPU-hour: ${d.assumptions.usd_per_gpu_hour}.`);
  $('[data-out="warnings"]', sec).replaceChildren(...(d.warnings || []).map((w) => el("li", {}, w)));
}

// ---------------------------------------------------------------------------------------------- Plan
async function computePlan() {
  const form = $('[data-form="plan"]');
  const file = form.elements.file.files[0];
  if (file) return api("POST", "/api/plan/upload", file, { raw: true, contentType: "application/yaml" });
  return api("POST", "/api/plan", { example: form.elements.example.value });
}
function compact(x) {
  if (typeof x !== "number" || !Number.isFinite(x)) return "–";
  return x.toLocaleString("en-US", { notation: "compact", maximumSignificantDigits: 4 });
}
function usd(x, digits = 0) { return typeof x === "number" && Number.isFinite(x) ? `$${fmt(x, digits)}` : "–"; }
function lineTrace(name, x, y, i, extra = {}) {
  return Object.assign({ type: "scatter", mode: "lines+markers", name, x, y, line: { color: COLORS[i % COLORS.length] },
    marker: { size: 5, color: COLORS[i % COLORS.length] } }, extra);
}
async function renderPlan(sec, d) {
  const s = d.summary || {};
  const sc = d.scenario;
  setOut(sec, "scenario", `${sc.name}: ${sc.description || ""} Model ${sc.model}; ${sc.months_planned} of ` +
    `${sc.horizon_months} months planned (source ${sc.source}).`);
  setOut(sec, "best_hardware", d.best_hardware || "none feasible");
  setOut(sec, "month_label", s.month_label || "–");
  setOut(sec, "users", fmt(s.users, 0));
  setOut(sec, "tokens_per_day", compact(s.tokens_per_day));
  setOut(sec, "peak_requests_per_s", fmt(s.peak_requests_per_s, 2));
  setOut(sec, "gpus", fmt(s.gpus, 0));
  setOut(sec, "mw", fmt(s.mw, 3));
  setOut(sec, "cost_usd_per_month", usd(s.cost_usd_per_month));
  setOut(sec, "revenue_usd_per_month", usd(s.revenue_usd_per_month));
  setOut(sec, "gross_margin_pct", typeof s.gross_margin_pct === "number" ? `${fmt(s.gross_margin_pct, 1)}%` : "–");
  setOut(sec, "usd_per_mtok_blended", usd(s.usd_per_mtok_blended, 4));
  setOut(sec, "usd_per_mtok_input", usd(s.usd_per_mtok_input, 4));
  setOut(sec, "usd_per_mtok_output", usd(s.usd_per_mtok_output, 4));
  setOut(sec, "breakeven_usd_per_mtok", usd(s.breakeven_usd_per_mtok, 4));
  setOut(sec, "price_usd_per_mtok_billed", usd(s.price_usd_per_mtok_billed, 4));
  setOut(sec, "horizon_cost_usd", usd(s.horizon_cost_usd));
  setOut(sec, "horizon_margin_usd", usd(s.horizon_margin_usd));
  $('[data-out="sentences"]', sec).replaceChildren(...(s.sentences || []).map((t) => el("li", {}, t)));
  const x = d.labels;
  const tot = d.demand.totals;
  await plot("plan-demand-chart", [
    { type: "bar", name: "uncached input", x, y: tot.uncached_input_tokens_per_day, marker: { color: COLORS[0] } },
    { type: "bar", name: "cached input", x, y: tot.cached_input_tokens_per_day, marker: { color: "#84adff" } },
    { type: "bar", name: "output", x, y: tot.output_tokens_per_day, marker: { color: COLORS[1] } },
    lineTrace("users", x, d.demand.total_users, 6, { yaxis: "y2" }),
  ], baseLayout("Demand: tokens per day (bars) and users (line)", {
    barmode: "stack", yaxis: { title: { text: "tokens per day" }, rangemode: "tozero", tickformat: "~s" },
    yaxis2: { title: { text: "users" }, overlaying: "y", side: "right", rangemode: "tozero", showgrid: false, tickformat: ".3~s" },
    margin: { l: 64, r: 64, t: 44, b: 90 },
  }));
  const feasible = d.hardware.filter((h) => h.feasible);
  await plot("plan-gpus-chart", feasible.map((h, i) => lineTrace(h.hardware, x, h.monthly.gpus, i, {
    hovertemplate: `%{x}: %{y:,.0f} GPUs<extra>${h.hardware}</extra>` })),
  baseLayout("Fleet: GPUs needed at each month's peak", { yaxis: { title: { text: "GPUs" }, rangemode: "tozero" } }));
  const best = d.hardware.find((h) => h.hardware === d.best_hardware);
  const money = best ? [
    { type: "bar", name: "capital", x, y: best.monthly.capital_usd, marker: { color: COLORS[0] } },
    { type: "bar", name: "operating", x, y: best.monthly.operating_usd, marker: { color: COLORS[1] } },
    lineTrace("revenue", x, best.monthly.revenue_usd, 2),
  ] : [];
  await plot("plan-money-chart", money, baseLayout(`Money per month on ${d.best_hardware || "–"} (USD)`, {
    barmode: "stack", yaxis: { title: { text: "USD per month" }, rangemode: "tozero", tickformat: "~s" } }));
  const usdm = feasible.map((h, i) => lineTrace(h.hardware, x, h.monthly.usd_per_mtok_blended, i));
  if (typeof s.price_usd_per_mtok_blended === "number") {
    usdm.push(lineTrace("list price (blended)", x, x.map(() => s.price_usd_per_mtok_blended), 4,
      { mode: "lines", line: { color: COLORS[4], dash: "dash" } }));
  }
  await plot("plan-usdmtok-chart", usdm, baseLayout("Cost per million tokens (blended, USD)", {
    yaxis: { title: { text: "USD per M tokens" }, rangemode: "tozero" } }));
  fillTable($("#plan-table"), ["hardware", "feasible", "peak GPUs", "peak MW", "cost USD", "revenue USD", "margin %",
    "$/M blended", "reason"], d.hardware, (tr, h) => {
    const t = h.totals || {};
    tr.dataset.hardware = h.hardware;
    tr.append(el("td", {}, h.hardware), el("td", {}, h.feasible ? "yes" : "no"));
    benchCell(tr, t.peak_gpus, 0);
    benchCell(tr, t.peak_mw, 3);
    benchCell(tr, t.cost_usd, 0);
    benchCell(tr, t.revenue_usd, 0);
    benchCell(tr, t.gross_margin_pct, 1);
    benchCell(tr, t.usd_per_mtok_blended, 4);
    tr.append(el("td", {}, h.reason || ""));
  });
  $('[data-out="warnings"]', sec).replaceChildren(...(d.warnings || []).map((w) => el("li", {}, w)));
  $('[data-out="notes"]', sec).replaceChildren(...(d.notes || []).map((n) => el("li", {}, n)));
}

const COMPUTE = { fit: computeFit, estimate: computeEstimate, tco: computeTco, bench: computeBench, frontier: computeFrontier, plan: computePlan };
const RENDER = { fit: renderFit, estimate: renderEstimate, tco: renderTco, bench: renderBench, frontier: renderFrontier, plan: renderPlan };

function scheduleRun(name, delay = 350) {
  clearTimeout(state.timers[name]);
  $(`#view-${name}`).dataset.status = "busy"; // pending counts as busy (tests and the dimmed results wait on it)
  state.timers[name] = setTimeout(() => runView(name, COMPUTE[name]), delay);
}

// ---------------------------------------------------------------------------------------------- tabs
function showTab(name) {
  if (!COMPUTE[name]) name = "fit";
  for (const b of $$("#tabs button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const s of $$(".view")) s.classList.toggle("active", s.dataset.view === name);
  const sec = $(`#view-${name}`);
  if (!state.meta) return; // init() shows the tab once the catalog is loaded
  const feat = state.meta.features[name];
  if (feat && !feat.available) return;
  if (AUTO_VIEWS.has(name) && !state.computed[name] && sec.dataset.status !== "busy") scheduleRun(name, 0);
  else resizeCharts(sec);
}

// ---------------------------------------------------------------------------------------------- setup
function fillSelect(sel, items, { blank, value } = {}) {
  const opts = [];
  if (blank !== undefined) opts.push(el("option", { value: "" }, blank));
  for (const it of items) opts.push(el("option", { value: it.value }, it.label));
  sel.replaceChildren(...opts);
  if (value !== undefined && items.some((it) => it.value === value)) sel.value = value;
}
function populate(meta) {
  const models = meta.models.map((m) => ({ value: m.key, label: m.key }));
  const hw = meta.hardware.map((h) => ({ value: h.key, label: `${h.key} (${h.name})` }));
  const presets = meta.presets.map((p) => ({ value: p, label: p }));
  for (const sel of $$("select[data-kind]")) {
    const kind = sel.dataset.kind;
    if (kind === "model") fillSelect(sel, models, { value: DEFAULTS.model });
    else if (kind === "model-optional") fillSelect(sel, models, { blank: "— no comparison —" });
    else if (kind === "hardware") fillSelect(sel, hw, { value: DEFAULTS.hardware });
    else if (kind === "hardware-optional") fillSelect(sel, hw, { blank: "— none (give a price) —" });
    else if (kind === "weights") fillSelect(sel, meta.precisions.weights.map((p) => ({ value: p, label: p })), { blank: "checkpoint's" });
    else if (kind === "kv") fillSelect(sel, meta.precisions.kv.map((p) => ({ value: p, label: p })), { blank: "default" });
    else if (kind === "preset") fillSelect(sel, presets, { value: meta.default_preset });
    else if (kind === "preset-optional") fillSelect(sel, presets, { blank: `default (${meta.default_preset})` });
    else if (kind === "example") fillSelect(sel, meta.examples.map((x) => ({ value: x, label: x })));
  }
  const frontierHw = $('[data-form="frontier"] select[name="hardware"]');
  for (const o of frontierHw.options) o.selected = ["h100-sxm", "h200-sxm", "b200"].includes(o.value);
  for (const n of $$('[data-limit="max_hardware"]')) n.textContent = String(meta.limits.max_hardware);
  for (const n of $$('[data-limit="max_body_mib"]')) n.textContent = String(meta.limits.max_body_bytes / 1048576);
  $("#version").textContent = `tokenfab ${meta.version}`;
  for (const [name, feat] of Object.entries(meta.features)) {
    const sec = $(`#view-${name}`);
    const banner = $(".unavailable", sec);
    const form = $("form", sec);
    if (feat.available) { banner.hidden = true; form.hidden = false; sec.dataset.status = "idle"; }
    else { banner.textContent = feat.message; banner.hidden = false; form.hidden = true; sec.dataset.status = "unavailable"; }
  }
}
function wire() {
  for (const b of $$("#tabs button")) b.addEventListener("click", () => { location.hash = b.dataset.tab; });
  window.addEventListener("hashchange", () => showTab(location.hash.slice(1)));
  for (const form of $$("form[data-form]")) {
    const name = form.dataset.form;
    form.addEventListener("submit", (ev) => { ev.preventDefault(); scheduleRun(name, 0); });
    if (AUTO_VIEWS.has(name)) {
      form.addEventListener("input", (ev) => { if (ev.target.type !== "file") scheduleRun(name); });
      form.addEventListener("change", (ev) => {
        if (name === "tco" && (ev.target.name === "hardware" || ev.target.name === "preset")) state.tcoOverrides = {};
        scheduleRun(name, 0);
      });
    }
  }
  $('[data-action="reset-overrides"]').addEventListener("click", () => { state.tcoOverrides = {}; scheduleRun("tco", 0); });
}
async function init() {
  wire();
  const r = await api("GET", "/api/meta");
  if (!r.ok) {
    const g = $("#global-error"); g.textContent = `Cannot load the catalog: ${r.data.error}`; g.hidden = false; return;
  }
  state.meta = r.data;
  populate(r.data);
  if (!window.Plotly) { const g = $("#global-error"); g.textContent = "Plotly.js did not load: charts are unavailable."; g.hidden = false; }
  document.body.dataset.ready = "1";
  showTab(location.hash.slice(1) || "fit");
}
document.addEventListener("DOMContentLoaded", init);

// the SLA as words: only the limits that are set
function slaText(sla) {
  const parts = [];
  if (sla.ttft_max_ms != null) parts.push(`TTFT ${sla.percentile || ""} <= ${sla.ttft_max_ms} ms`);
  if (sla.tpot_max_ms != null) parts.push(`TPOT <= ${sla.tpot_max_ms} ms`);
  if (sla.e2el_max_ms != null) parts.push(`E2E <= ${sla.e2el_max_ms} ms`);
  if (sla.min_interactivity != null) parts.push(`>= ${sla.min_interactivity} tokens/s per user`);
  return parts.length ? parts.join(", ") : "none";
}
