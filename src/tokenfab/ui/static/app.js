// tokenfab dashboard: plain JS over the JSON API (/api/...). Every number shown comes from the API, i.e. from the
// library; this file only formats and draws. Text from the server is always set with textContent (never innerHTML).
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

const state = { meta: null, tokens: {}, timers: {}, tcoOverrides: {}, computed: {}, last: {} };
const DEFAULTS = { model: "llama-3.1-70b", hardware: "h100-sxm", frontierHardware: ["h100-sxm", "h200-sxm", "b200"] };
const AUTO_VIEWS = new Set(["fit", "estimate", "tco", "frontier"]); // recompute as inputs change
let COLORS = ["#2f6fde", "#f79009", "#12b76a", "#9e77ed", "#f04438", "#0ba5ec", "#667085", "#ee46bc"];
// a short toolbar (save, zoom, pan, reset): room for the title at its left (tokenfab.render.plots.PLOT_CONFIG)
const PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d", "zoomIn2d",
  "zoomOut2d", "autoScale2d", "toggleSpikelines", "hoverClosestCartesian", "hoverCompareCartesian", "zoom3d",
  "pan3d", "hoverClosestPie"] };
const TITLE_CHARS = 64; // tokenfab.render.plots.TITLE_CHARS: a longer title line wraps (clear of the toolbar)

// ---------------------------------------------------------------------------------------------- formatting
// The rules of tokenfab.render.format (the browser tests check both give the same text): thousands separators,
// 100+ whole, 10-100 one decimal, 1-10 two, below 1 three significant digits; SI k/M/B/T; $ with at least two
// decimals under $100; never e+ notation, never a field name.
const DASH = "–";
function finite(x) { return typeof x === "number" && Number.isFinite(x) ? x : null; }
function decimals(a) {
  if (a >= 100 || a === 0) return 0;
  if (a >= 10) return 1;
  if (a >= 1) return 2;
  return Math.min(12, 2 - Math.floor(Math.log10(a)));
}
// rounds the exact binary value (toFixed), as Python's format does: 1.275 -> "1.27"; then thousands separators
function fixed(v, d) {
  const [int, frac] = Math.abs(v).toFixed(d).split(".");
  const s = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (frac ? "." + frac : "");
  return (v < 0 && /[1-9]/.test(s) ? "-" : "") + s;
}
function num(x, digits) {
  const v = finite(x);
  if (v === null) return DASH;
  if (digits === undefined && v === Math.round(v) && Math.abs(v) < 1e15) return fixed(v, 0);
  const s = fixed(v, digits === undefined ? decimals(Math.abs(v)) : digits);
  return /^[-0.,]*$/.test(s) ? "0" : s;
}
const fmt = num; // fixed decimals when given (the older name of the views)
function si(x) {
  const v = finite(x);
  if (v === null) return DASH;
  const a = Math.abs(v);
  for (const [lim, suf] of [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"]]) {
    if (a >= lim * 0.9995) {
      const q = Math.max(a / lim, 1);
      const body = q >= 99.95 ? fixed(q, 0) : q.toFixed(q >= 9.995 ? 1 : 2);
      return (v < 0 ? "-" : "") + body + suf;
    }
  }
  return num(x);
}
function usd(x, compactFrom = 1e7) {
  const v = finite(x);
  if (v === null) return DASH;
  const a = Math.abs(v);
  const sign = v < 0 && a > 0 ? "-" : "";
  if (a >= compactFrom) return `${sign}$${si(a)}`;
  let body;
  if (a >= 100 || a === 0) body = fixed(a, 0);
  else if (a >= 1) body = fixed(a, 2);
  else {
    body = a.toFixed(Math.max(2, decimals(a)));
    body = body.slice(0, Math.max(body.indexOf(".") + 3, body.replace(/0+$/, "").length));
  }
  return `${sign}$${body}`;
}
function pctValue(p, digits = 0, signed = false) {
  const v = finite(p);
  if (v === null) return DASH;
  let s = fixed(Math.abs(v), digits);
  s = (v < 0 && /[1-9]/.test(s) ? "-" : (signed && /[1-9]/.test(s) ? "+" : "")) + s + "%";
  return s;
}
function pct(fraction, digits = 0, signed = false) { const v = finite(fraction); return v === null ? DASH : pctValue(100 * v, digits, signed); }
function count(n, singular, plural) { const v = finite(n); return `${v === null ? DASH : num(v)} ${v === 1 ? singular : (plural || singular + "s")}`; }
function tick(v) {
  const x = finite(v);
  if (x === null) return "";
  if (Math.abs(x) >= 1e4) return si(x).replace(".00", "").replace(".0", "");
  if (Math.abs(x) >= 1) return x === Math.round(x) ? fixed(x, 0) : num(x);
  return x.toFixed(6).replace(/0+$/, "").replace(/\.$/, "");
}
function usdTick(v) { const t = tick(v); return t.startsWith("-") ? `-$${t.slice(1)}` : `$${t}`; }
// major ticks of a log axis (tokenfab.render.format.log_ticks): powers of ten beyond two decades, else 1-2-5, finer
// on a narrow range, so every log axis has several labelled ticks and no unlabelled minor ones
function logTicks(lo, hi, fn = tick) {
  if (!(lo > 0 && hi > 0)) return [[], []];
  [lo, hi] = [Math.min(lo, hi), Math.max(lo, hi)];
  const e0 = Math.floor(Math.log10(lo)), e1 = Math.ceil(Math.log10(hi));
  const seqs = [[1], [1, 2, 5], [1, 1.5, 2, 3, 4, 5, 6, 8], Array.from({ length: 90 }, (_, i) => 1 + 0.1 * i)];
  const start = Math.log10(hi / lo) > 2 ? 0 : 1;
  const vals = (steps) => { const out = []; for (let e = e0; e <= e1; e++) for (const m of steps) out.push(Number((m * 10 ** e).toPrecision(6))); return out; };
  let inside = [];
  for (const steps of seqs.slice(start)) {
    inside = vals(steps).filter((v) => lo / 1.0001 <= v && v <= hi * 1.0001);
    if (inside.length >= 3) break;
  }
  if (inside.length > 12) inside = inside.filter((_, i) => i % Math.ceil(inside.length / 8) === 0);
  if (inside.length < 2) {
    const all = vals(seqs[2]);
    inside = all.filter((v) => v < lo).slice(-1).concat(inside, all.filter((v) => v > hi).slice(0, 1));
  }
  return [inside, inside.map(fn)];
}
const FORMAT = { num, si, usd, pct, pctValue, tick, usdTick, logTicks }; // for the browser tests
// library text for a person: a known field name in it (usd_per_gpu_hour) read as its label, except inside a path,
// a key path or a flag (tokenfab.render.format.humanize)
function humanize(text) {
  const labels = (state.meta && state.meta.labels) || {};
  return String(text).replace(/\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b/g, (m, off, all) => {
    const before = off ? all[off - 1] : " ", after = all[off + m.length] || " ";
    if (!labels[m] || "./-*`'\"[".includes(before) || "./`'\"]".includes(after)) return m;
    return labels[m];
  });
}
function label(name) { return (state.meta && state.meta.labels[name]) || String(name).replace(/_per_s(?=_|$)/g, "/s").replace(/_/g, " "); }
function term(name) { return (state.meta && state.meta.terms[name]) || ""; }
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
  return `${p.rate}/s`;
}
// a "?" next to a term of art that explains it on hover or focus (the glossary's sentence, data/labels.yaml)
function helpIcon(name) {
  const text = term(name);
  const h = el("span", { class: "help", tabindex: "0", role: "note", "aria-label": `${name}: ${text}`, title: text }, "?");
  h.append(el("span", { class: "tip" }, `${name}: ${text}`));
  return h;
}
function decorateTerms(root = document) {
  for (const t of $$(".term[data-term]", root)) {
    if (t.dataset.decorated || !term(t.dataset.term)) continue;
    t.dataset.decorated = "1";
    t.title = term(t.dataset.term);
    t.append(helpIcon(t.dataset.term)); // inside the term: it stays on the term's line
  }
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
  for (const list of $$(".checklist[data-name]", form)) {
    out[list.dataset.name] = $$("input[type=checkbox]", list).filter((c) => c.checked).map((c) => c.value);
  }
  for (const e of form.elements) {
    if (!e.name || e.type === "file" || e.type === "checkbox") continue;
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
    try {
      setOut(sec, "header", r.data.header || "");
      await RENDER[name](sec, r.data);
      if ($("[data-cli]", sec)) showCli(sec, name);
      sec.dataset.status = "ok";
    }
    catch (e) { showError(sec, { error: `could not draw the result: ${e.message}` }, 0); sec.dataset.status = "error"; }
    state.computed[name] = true;
  } else {
    showError(sec, r.data, r.status); sec.dataset.status = "error";
  }
  sec.dataset.seq = String(Number(sec.dataset.seq || 0) + 1);
}

// ---------------------------------------------------------------------------------------------- charts
// the rules of tokenfab.render.plots: the title top left and wrapped (clear of the toolbar at the top right), axis
// titles with units, legends under the plot (they wrap, never cut), labelled major ticks on log axes, responsive
function wrapTitle(text, width = TITLE_CHARS) {
  const lines = [];
  for (const w of String(text).split(/\s+/)) {
    if (lines.length && lines[lines.length - 1].length + 1 + w.length <= width) lines[lines.length - 1] += " " + w;
    else lines.push(w);
  }
  return lines.join("<br>");
}
function baseLayout(title, extra = {}) {
  const t = wrapTitle(title);
  const lines = t.split("<br>").length;
  const lay = {
    title: { text: t, font: { size: 14 }, x: 0.015, xref: "container", xanchor: "left", y: 1, yref: "container", yanchor: "top", pad: { t: 12 } },
    margin: { l: 70, r: 24, t: 40 + 20 * lines, b: 60 }, paper_bgcolor: "#fff", plot_bgcolor: "#fff",
    font: { family: "system-ui, sans-serif", size: 12 }, height: 400, autosize: true, separators: ".,",
    legend: { orientation: "h", x: 0, xanchor: "left", y: -0.2, yanchor: "top" }, hoverlabel: { namelength: -1 },
  };
  for (const [k, v] of Object.entries(extra)) {
    lay[k] = v && typeof v === "object" && !Array.isArray(v) && lay[k] && typeof lay[k] === "object" ? Object.assign({}, lay[k], v) : v;
  }
  for (const ax of Object.keys(lay).filter((k) => /^[xy]axis\d*$/.test(k))) lay[ax] = Object.assign({ automargin: true }, lay[ax]);
  return lay;
}
function logAxis(values, title, fn = tick) {
  const v = values.filter((x) => typeof x === "number" && x > 0);
  if (!v.length) return { type: "log", title: { text: title } };
  const [tickvals, ticktext] = logTicks(Math.min(...v), Math.max(...v), fn);
  return { type: "log", title: { text: title }, tickvals, ticktext };
}
function rgba(hex, a) {
  const h = hex.replace("#", "");
  return `rgba(${parseInt(h.slice(0, 2), 16)},${parseInt(h.slice(2, 4), 16)},${parseInt(h.slice(4, 6), 16)},${a})`;
}
// a shaded p10-p90 band: the upper edge, then the lower one filled up to it (nothing when a value is missing)
function bandTraces(x, lo, hi, color, group, axes = {}) {
  if (!x || !lo || !hi || lo.some((v) => v === null || v === undefined) || hi.some((v) => v === null || v === undefined)) return [];
  const edge = Object.assign({ type: "scatter", mode: "lines", line: { width: 0, color }, hoverinfo: "skip", showlegend: false, legendgroup: group }, axes);
  return [Object.assign({}, edge, { x, y: hi, name: `${group} p90` }),
    Object.assign({}, edge, { x, y: lo, name: `${group} p10`, fill: "tonexty", fillcolor: rgba(color, 0.15) })];
}
// the p10 / p90 series of a month-by-month field: <field>_p10 / <field>_p90, or uncertainty[field] {p10, p90}
function seriesBands(monthly, field) {
  let lo = monthly[`${field}_p10`], hi = monthly[`${field}_p90`];
  if (!Array.isArray(lo) || !Array.isArray(hi)) {
    const u = (monthly.uncertainty || {})[field] || {};
    lo = u.p10; hi = u.p90;
  }
  return Array.isArray(lo) && Array.isArray(hi) ? [lo, hi] : [null, null];
}
function lineWithBand(name, x, monthly, field, i, extra = {}) {
  const color = COLORS[i % COLORS.length];
  const [lo, hi] = seriesBands(monthly, field);
  return bandTraces(x, lo, hi, color, name).concat([lineTrace(name, x, monthly[field], i, Object.assign({ legendgroup: name }, extra))]);
}
// the title wrapped to the chart's own width, so it ends before the toolbar (about 130 px at the top right)
function titleFor(gd, raw) {
  const w = gd.clientWidth || 600;
  const t = wrapTitle(raw, Math.max(20, Math.min(TITLE_CHARS, Math.floor((w - 170) / 7.4))));
  return { text: t, top: 40 + 20 * t.split("<br>").length };
}
function plot(id, traces, layout) {
  if (!window.Plotly) throw new Error("Plotly.js did not load");
  const gd = document.getElementById(id);
  const raw = String(layout.title.text).replace(/<br>/g, " ");
  gd.dataset.rawTitle = raw;
  const t = titleFor(gd, raw);
  layout.title.text = t.text;
  layout.margin = Object.assign({}, layout.margin, { t: t.top });
  return Plotly.react(gd, traces, layout, PLOT_CONFIG);
}
function resizeCharts(sec) {
  if (!window.Plotly) return;
  for (const c of $$(".js-plotly-plot", sec)) {
    Plotly.Plots.resize(c);
    if (c.dataset.rawTitle) {
      const t = titleFor(c, c.dataset.rawTitle);
      if (c.layout && c.layout.title && c.layout.title.text !== t.text) Plotly.relayout(c, { "title.text": t.text, "margin.t": t.top });
    }
  }
}
window.addEventListener("resize", () => { const sec = $(".view.active"); if (sec) resizeCharts(sec); });

// ---------------------------------------------------------------------------------------------- CLI commands
// each view's inputs as the `tokenfab` command that gives the same figures in a terminal (defaults left out)
function shq(v) { const s = String(v); return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`; }
function opt(flag, v) { return v === null || v === undefined || v === "" ? [] : [flag, v]; }
const TCO_FLAGS = { // TcoInputs field -> the flag of `tokenfab tco` / `cost` (cli/tco.py); the others have none
  utilization: "--utilization", pue: "--pue", usd_per_kwh: "--usd-per-kwh", life_years: "--life-years", wacc: "--wacc",
  capex_usd_per_gpu: "--capex-usd-per-gpu", residual_value_fraction: "--residual-value-fraction",
  colocation_usd_per_kw_month: "--colocation-usd-per-kw-month", it_kw_per_gpu: "--it-kw-per-gpu",
  idle_power_fraction: "--idle-power-fraction", maintenance_fraction_per_year: "--maintenance-fraction-per-year",
  software_usd_per_gpu_hour: "--software-usd-per-gpu-hour", price_usd_per_gpu_hour: "--usd-per-gpu-hour",
};
function layoutFlags(f) { return [...opt("--gpus", f.gpus), ...opt("--tp", f.tp), ...opt("--pp", f.pp), ...opt("--dp", f.dp), ...opt("--ep", f.ep)]; }
const CLI = {
  fit: (f) => ["fit", "--model", f.model, "--hardware", f.hardware, ...opt("--weights", f.weights), ...opt("--kv", f.kv),
    ...(f.users !== 1 ? ["--users", f.users] : []), ...(f.context !== 4096 ? ["--context", f.context] : []), ...layoutFlags(f)],
  estimate: (f) => ["estimate", "--model", f.model, "--hardware", f.hardware, ...layoutFlags(f), ...opt("--weights", f.weights),
    ...opt("--kv", f.kv), ...opt("--engine", f.engine), "--isl", f.isl, "--osl", f.osl, ...opt("--concurrency", f.concurrency)],
  frontier: (f) => ["frontier", "--model", f.model, "--hardware", (f.hardware || []).join(","), ...opt("--weights", f.weights),
    ...opt("--engine", f.engine),
    ...(f.mode !== "both" ? ["--mode", f.mode] : []), "--isl", f.isl, "--osl", f.osl, ...opt("--gpus", f.gpus),
    ...(f.preset && f.preset !== state.meta.default_preset ? ["--preset", f.preset] : []),
    ...(f.target_interactivity !== null ? ["--target-interactivity", f.target_interactivity] : []),
    ...opt("--ttft-max-ms", f.ttft_max_ms), ...opt("--tpot-max-ms", f.tpot_max_ms)],
  tco: (f) => {
    const cmd = [f.total_tokens_per_s_per_gpu ? "cost" : "tco", "--hardware", f.hardware,
      ...(f.preset && f.preset !== state.meta.default_preset ? ["--preset", f.preset] : []),
      ...opt("--tokens-per-s-per-gpu", f.total_tokens_per_s_per_gpu)];
    for (const [k, v] of Object.entries(state.tcoOverrides)) if (TCO_FLAGS[k]) cmd.push(TCO_FLAGS[k], v);
    return cmd;
  },
  plan: (f, form) => { const file = form.elements.file.files[0]; return ["plan", file ? file.name : `examples/${f.example}.yaml`]; },
  bench: (f, form) => {
    const file = form.elements.file.files[0];
    return ["bench-report", file ? file.name : "results.jsonl", "--gpus", f.gpus, ...opt("--hardware", f.hardware),
      ...opt("--preset", f.preset), ...opt("--usd-per-gpu-hour", f.usd_per_gpu_hour), ...opt("--compare-model", f.model),
      ...opt("--weights", f.weights), ...opt("--kv", f.kv), ...opt("--engine", f.engine), ...opt("--tp", f.tp), ...opt("--pp", f.pp), ...opt("--dp", f.dp)];
  },
};
function cliText(name) {
  const form = $(`[data-form="${name}"]`);
  const f = readForm(form);
  const extra = name === "tco" ? Object.keys(state.tcoOverrides).filter((k) => !TCO_FLAGS[k]) : [];
  return "tokenfab " + CLI[name](f, form).map(shq).join(" ") + (extra.length ? `   # no CLI flag for: ${extra.map(label).join(", ")}` : "");
}
function showCli(sec, name) { setOut(sec, "cli", cliText(name)); }
async function copyCli(btn) {
  const text = $("[data-out='cli']", btn.closest(".cli")).textContent;
  try { await navigator.clipboard.writeText(text); }
  catch (e) { // no clipboard permission (an http page, a test browser): select the text for Ctrl-C instead
    const r = document.createRange(); r.selectNodeContents($("[data-out='cli']", btn.closest(".cli")));
    const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(r);
  }
  btn.classList.add("copied"); btn.textContent = "Copied";
  setTimeout(() => { btn.classList.remove("copied"); btn.textContent = "Copy as CLI command"; }, 1500);
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
  const unit = r.memory_kind === "SRAM" ? "chip" : "GPU";
  setOut(sec, "memory_per_gpu_gib", num(r.memory_per_gpu_gib));
  setOut(sec, "capacity_per_gpu_gib", num(r.capacity_per_gpu_gib));
  setOut(sec, "headroom_per_gpu_gib", num(r.headroom_per_gpu_gib));
  setOut(sec, "gpus", count(r.gpus, unit));
  setOut(sec, "layout", `TP=${r.tp} PP=${r.pp} DP=${r.dp} EP=${r.ep}; ${r.weights_precision} weights, ${r.kv_precision} KV`);
  setOut(sec, "layout_note", (r.explain && r.explain.layout) || "");
  setOut(sec, "max_concurrent_sequences", num(r.max_concurrent_sequences));
  setOut(sec, "chips_needed", num(r.chips_needed));
  setOut(sec, "chips_needed_exact", num(r.chips_needed_exact, 2));
  setOut(sec, "nodes_needed", num(r.nodes_needed));
  setOut(sec, "chips_per_node", count(r.chips_per_node, unit));
  setOut(sec, "racks_needed", num(r.racks_needed));
  setOut(sec, "racks_needed_exact", num(r.racks_needed_exact, 2));
  setOut(sec, "chips_per_rack", count(r.chips_per_rack, unit));
  setOut(sec, "weights_gib", num(r.weights_gib));
  setOut(sec, "weights_gb", num(r.weights_gb));
  setOut(sec, "kv_cache_gib", num(r.kv_cache_gib));
  setOut(sec, "units_note", r.units_note);
  const n = r.gpus;
  const x = n <= 64 ? Array.from({ length: n }, (_, i) => `${unit} ${i + 1}`) : [`each of ${num(n)} ${unit}s`];
  const parts = [["weights_gib", "weights"], ["kv_cache_gib", "KV cache"], ["activations_gib", "activations"],
    ["runtime_overhead_gib", "runtime reserve"]];
  const traces = parts.map(([k, name], i) => ({
    type: "bar", name, x, y: x.map(() => r.per_gpu[k]), marker: { color: COLORS[i] },
    hovertemplate: `${name}: %{y:.2f} GiB<extra></extra>`,
  }));
  const cap = r.capacity_per_gpu_gib;
  const layout = baseLayout(`Memory per ${unit}: ${r.model} on ${count(n, unit)} of ${r.hardware}`, {
    barmode: "stack", legend: { traceorder: "normal" },
    xaxis: { title: { text: unit } },
    yaxis: { title: { text: `GiB per ${unit}` }, rangemode: "tozero" },
    shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: cap, y1: cap, line: { color: "#b42318", width: 2, dash: "dash" } }],
    annotations: [{ xref: "paper", x: 1, y: cap, xanchor: "right", yanchor: "bottom", showarrow: false,
      text: `capacity ${num(cap)} GiB`, font: { color: "#b42318" } }],
  });
  await plot("fit-chart", traces, layout);
}

// ---------------------------------------------------------------------------------------------- Estimate
async function computeEstimate() {
  const body = readForm($('[data-form="estimate"]'));
  if (body.concurrency === null) body.concurrency = "max";
  return api("POST", "/api/estimate", body);
}
function bandText(e, key) {
  const b = (e.uncertainty || {})[key];
  return b && b.p10 !== undefined ? `p10 - p90: ${num(b.p10)} - ${num(b.p90)}` : "";
}
async function renderEstimate(sec, e) {
  const x = e.explain || {};
  const nf = $('[data-out="not_fit"]', sec);
  nf.hidden = !!e.fits;
  nf.textContent = x.not_fit || "";
  setOut(sec, "ttft_ms", num(e.ttft_ms));
  setOut(sec, "tpot_ms", num(e.tpot_ms));
  setOut(sec, "tokens_per_s_per_user", num(e.tokens_per_s_per_user));
  setOut(sec, "output_tokens_per_s", num(e.output_tokens_per_s));
  setOut(sec, "output_tokens_per_s_per_gpu", num(e.output_tokens_per_s_per_gpu));
  setOut(sec, "total_tokens_per_s_per_gpu", num(e.total_tokens_per_s_per_gpu));
  setOut(sec, "concurrency", num(e.concurrency));
  setOut(sec, "concurrency_cap", num(e.concurrency_cap));
  setOut(sec, "memory_per_gpu_gib", num(e.memory_per_gpu_gib));
  setOut(sec, "decode_step_ms", num(e.decode_step_ms));
  setOut(sec, "bound", e.bound);
  setOut(sec, "bound_note", x.bound || "");
  setOut(sec, "largest_part", x.largest_part ? `${label(x.largest_part.part)} (${pct(x.largest_part.share)})` : DASH);
  for (const n of $$("[data-band]", sec)) n.textContent = bandText(e, n.dataset.band);
  const cal = e.calibration || {};
  setOut(sec, "layout", `${e.model} on ${e.gpus} × ${e.hardware}: TP=${e.tp} PP=${e.pp} DP=${e.dp} EP=${e.ep}; ` +
    `${e.weights} weights, ${e.kv} KV, computed at ${e.compute_precision}; ISL ${num(e.isl)} / OSL ${num(e.osl)}; ` +
    `calibration: ${cal.hardware_family || "?"} ${cal.hardware_profile || "?"}, engine ${cal.engine || e.engine} ` +
    `${cal.engine_profile || "?"}. ${e.definitions.tpot_ms}.`);
  const ul = $('[data-out="warnings"]', sec);
  ul.replaceChildren(...(e.warnings || []).filter((w) => !w.startsWith("does not fit")).map((w) => el("li", {}, humanize(w))));
  const entries = Object.entries(e.breakdown).filter(([, v]) => v > 0).sort((a, b) => a[1] - b[1]);
  const total = entries.reduce((acc, [, v]) => acc + v, 0);
  const traces = [{
    type: "bar", orientation: "h", y: entries.map(([k]) => label(k)), x: entries.map(([, v]) => v),
    marker: { color: entries.map(([k]) => (x.largest_part && k === x.largest_part.part ? COLORS[1] : COLORS[0])) },
    text: entries.map(([, v]) => `${num(v)} ms (${pct(v / total)})`), textposition: "auto", cliponaxis: false,
    hovertemplate: "%{y}: %{x:.3f} ms<extra></extra>",
  }];
  await plot("estimate-chart", traces, baseLayout(
    `Where one decode step goes: ${num(e.decode_step_ms)} ms at ${num(e.concurrency)} requests at once (limited by ${e.bound})`, {
      margin: { l: 190, b: 56 }, xaxis: { title: { text: "ms per decode step" }, rangemode: "tozero" },
      yaxis: { title: { text: "operator class" } }, showlegend: false,
    }));
}

// ---------------------------------------------------------------------------------------------- TCO
async function computeTco() {
  const f = readForm($('[data-form="tco"]'));
  // a price typed over the default preset replaces its cost model (as `tokenfab tco --usd-per-gpu-hour` does);
  // with a preset the user picked, the contradiction is the library's error to name
  const priced = state.tcoOverrides && "price_usd_per_gpu_hour" in state.tcoOverrides;
  const body = { hardware: f.hardware, preset: priced && f.preset === state.meta.default_preset ? null : f.preset,
    overrides: state.tcoOverrides, total_tokens_per_s_per_gpu: f.total_tokens_per_s_per_gpu };
  return api("POST", "/api/tco", body);
}
function tcoInputValue(v) {
  if (v === null || v === undefined) return "";
  return String(Math.round(v * 1e9) / 1e9);
}
function unitText(u) { return String(u || "").replace(/^USD\b/, "$").replace(/\bUSD\b/g, "$"); }
async function renderTco(sec, t) {
  setOut(sec, "usd_per_gpu_hour", usd(t.usd_per_gpu_hour));
  setOut(sec, "usd_per_gpu_hour_wallclock", usd(t.usd_per_gpu_hour_wallclock));
  setOut(sec, "utilization", pct(t.utilization));
  setOut(sec, "method", t.method);
  setOut(sec, "capex_usd_per_gpu_all_in", usd(t.capex_usd_per_gpu_all_in));
  setOut(sec, "life_spend_usd_per_gpu", usd(t.life_spend_usd_per_gpu));
  setOut(sec, "life_years", num(t.life_years));
  setOut(sec, "all_in_kw_per_gpu", num(t.all_in_kw_per_gpu));
  setOut(sec, "it_kw_per_gpu", num(t.it_kw_per_gpu));
  const costCard = $('[data-show="cost"]', sec);
  costCard.hidden = !t.cost;
  setOut(sec, "usd_per_mtok_total", t.cost ? usd(t.cost.usd_per_mtok_total) : DASH);
  // inputs table: every input with its value (editable), unit and source
  const tbody = $("#tco-inputs tbody");
  const rows = state.meta.tco_fields.map(({ name, unit, label: lab }) => {
    const tr = el("tr", { dataset: { field: name } });
    const overridden = Object.prototype.hasOwnProperty.call(state.tcoOverrides, name);
    if (overridden) tr.classList.add("overridden");
    tr.append(el("td", { title: TCO_FLAGS[name] ? `CLI: ${TCO_FLAGS[name]}` : "no CLI flag" }, lab || label(name)));
    const td = el("td", { class: "value-cell" });
    const input = el("input", { type: "number", step: "any", name, "aria-label": lab || label(name) });
    input.value = overridden ? tcoInputValue(state.tcoOverrides[name]) : tcoInputValue(t.inputs[name]);
    input.placeholder = "not set";
    input.addEventListener("change", () => {
      const v = input.value.trim();
      if (v === "") delete state.tcoOverrides[name]; else state.tcoOverrides[name] = Number(v);
      scheduleRun("tco", 0);
    });
    if (/^USD/.test(unit)) td.append(el("span", { class: "prefix" }, "$"));
    td.append(input, el("span", { class: "field-error", dataset: { errorFor: name } }));
    tr.append(td, el("td", {}, unitText(unit)));
    const src = t.sources[name] || (t.inputs[name] === null ? "not set" : "not used by this method");
    tr.append(el("td", { class: "src" + (src === "user" ? " user" : "") }, src === "user" ? "you (edited here)" : humanize(src)));
    return tr;
  });
  tbody.replaceChildren(...rows);
  const ul = $('[data-out="notes"]', sec);
  ul.replaceChildren(...t.notes.map((n) => el("li", {}, humanize(n))));
  // breakdown chart ($ per busy GPU-hour); the capital bar split into depreciation and cost of capital
  const comps = Object.keys(t.breakdown).filter((k) => !(t.method === "price" && t.breakdown[k] === 0));
  const names = comps.map((k) => label(k).replace(/ \(.*\)$/, ""));
  const desc = t.component_descriptions || {};
  const traces = [];
  if (t.method === "owned") {
    traces.push({ type: "bar", name: "depreciation", x: names, y: comps.map((k) => (k === "capital" ? t.capital_split.depreciation : null)), marker: { color: COLORS[0] } });
    traces.push({ type: "bar", name: "cost of capital", x: names, y: comps.map((k) => (k === "capital" ? t.capital_split.cost_of_capital : null)), marker: { color: "#84adff" } });
  }
  traces.push({ type: "bar", name: t.method === "owned" ? "the other components" : "price", x: names,
    y: comps.map((k) => (t.method === "owned" && k === "capital" ? null : t.breakdown[k])), marker: { color: COLORS[1] },
    customdata: comps.map((k) => desc[k] || ""), hovertemplate: "%{x}: $%{y:.3f} per busy GPU-hour<br>%{customdata}<extra></extra>" });
  await plot("tco-chart", traces, baseLayout(
    `${t.hardware} (${t.preset}): ${usd(t.usd_per_gpu_hour)} per busy GPU-hour`, {
      barmode: "stack", xaxis: { title: { text: "cost component" } }, yaxis: { title: { text: "$ per busy GPU-hour" }, tickprefix: "$" },
    }));
  const shareKeys = comps.filter((k) => t.shares[k] > 0);
  await plot("tco-share-chart", [{
    type: "pie", hole: 0.45, labels: shareKeys.map((k) => label(k).replace(/ \(.*\)$/, "")), values: shareKeys.map((k) => t.shares[k]), sort: false,
    marker: { colors: COLORS }, textinfo: "label+percent", hovertemplate: "%{label}: %{percent}<extra></extra>",
  }], baseLayout("Share of the lifetime spend", { showlegend: false }));
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
  setOut(sec, "usd_per_gpu_hour", usd(d.usd_per_gpu_hour));
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
  await plot("bench-chart", traces, baseLayout("Measured throughput per GPU against interactivity", {
    xaxis: { title: { text: "interactivity (tokens/s per user, median 1000 / TPOT)" } },
    yaxis: { title: { text: "total tokens/s per GPU (input + output)" }, rangemode: "tozero" },
  }));
  await plot("bench-cost-chart", [
    { type: "bar", name: "all tokens", x: labels, y: pts.map((p) => p.usd_per_mtok_total), marker: { color: COLORS[0] } },
    { type: "bar", name: "output tokens", x: labels, y: pts.map((p) => p.usd_per_mtok_output), marker: { color: COLORS[1] } },
  ], baseLayout(`Cost per million tokens at ${usd(d.usd_per_gpu_hour)} per GPU-hour`, {
    barmode: "group", xaxis: { title: { text: "load level (c = requests at once, /s = arrival rate)" } },
    yaxis: { title: { text: "$ per million tokens" }, tickprefix: "$" } }));
  // table: measured (and predicted) per level
  const keys = [["tokens_per_s_per_user", "tok/s per user", 1], ["total_tokens_per_s_per_gpu", "total tok/s per GPU", 1],
    ["tpot_ms_p50", "TPOT p50 (ms)", 2], ["ttft_ms_p50", "TTFT p50 (ms)", 1]];
  const headers = ["level"];
  for (const [, label] of keys) headers.push(`${label} measured`, ...(cmp ? ["predicted", "error"] : []));
  headers.push("$ per M tokens", "$ per M output tokens", "requests ok / failed");
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
  let s = `${count(c.gpus, "GPU")}, ${p.layout}, ${c.weights}, ${num(c.concurrency)} requests at once`;
  if (c.mtp) s += `, MTP ${c.mtp.draft_tokens}`;
  return s;
}
function tierCard(name, desc, p) {
  const card = el("div", { class: "card", dataset: { tier: name } });
  const lab = el("div", { class: "label" }, `${name}: ${desc.split(";")[0]}`);
  if (term(name)) lab.append(helpIcon(name));
  card.append(lab);
  if (!p) { card.append(el("div", { class: "value" }, DASH), el("div", { class: "unit" }, "no point qualifies")); return card; }
  card.append(el("div", { class: "value" }, p.usd_per_mtok_total === null ? DASH : usd(p.usd_per_mtok_total)));
  const b = (p.uncertainty || {}).usd_per_mtok_total;
  card.append(el("div", { class: "unit" }, `per M tokens · ${p.hardware} (${p.mode === "agg" ? "aggregated" : "disaggregated"})`));
  if (b) card.append(el("div", { class: "unit band" }, `p10 - p90: ${usd(b.p10)} - ${usd(b.p90)}`));
  card.append(el("div", { class: "unit" }, `${num(p.tokens_per_s_per_user)} tokens/s per user · ${num(p.total_tokens_per_s_per_gpu)} tokens/s per GPU`));
  card.append(el("div", { class: "unit" }, configLabel(p)));
  return card;
}
function modeName(m) { return m === "agg" ? "aggregated" : "disaggregated"; }
async function renderFrontier(sec, d) {
  const t = d.tiers;
  $('[data-out="tiers"]', sec).replaceChildren(
    tierCard("bulk", t.definitions.bulk, t.bulk), tierCard("goldilocks", t.definitions.goldilocks, t.goldilocks),
    tierCard("premium", t.definitions.premium, t.premium));
  const hwKeys = Object.keys(d.hardware);
  const color = (hw) => COLORS[hwKeys.indexOf(hw) % COLORS.length];
  const groups = new Map();
  for (const p of d.points) {
    const k = `${p.hardware} (${modeName(p.mode)})`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(p);
  }
  const traces = [];
  const xs = [];
  for (const [k, pts] of groups) {
    pts.sort((a, b) => a.tokens_per_s_per_user - b.tokens_per_s_per_user);
    const c = color(pts[0].hardware);
    const x = pts.map((p) => p.tokens_per_s_per_user);
    xs.push(...x);
    const band = (q) => pts.map((p) => (((p.uncertainty || {}).total_tokens_per_s_per_gpu) || {})[q]);
    traces.push(...bandTraces(x, band("p10"), band("p90"), c, k));
    traces.push({
      type: "scatter", mode: "lines+markers", name: k, legendgroup: k, x, y: pts.map((p) => p.total_tokens_per_s_per_gpu),
      line: { color: c, dash: pts[0].mode === "disagg" ? "dash" : "solid", shape: "linear" },
      marker: { color: c, size: 6 }, customdata: pts.map((p) => [configLabel(p), usd(p.usd_per_mtok_total)]),
      hovertemplate: "%{x:.1f} tokens/s per user, %{y:,.0f} tokens/s per GPU<br>%{customdata[0]}<br>%{customdata[1]} per M tokens<extra>" + k + "</extra>",
    });
  }
  if (d.best) {
    traces.push({ type: "scatter", mode: "markers", name: `cheapest: ${d.best.hardware} (${modeName(d.best.mode)})`,
      x: [d.best.tokens_per_s_per_user], y: [d.best.total_tokens_per_s_per_gpu],
      marker: { color: color(d.best.hardware), size: 15, symbol: "star", line: { color: "#101828", width: 1 } } });
  }
  const U = d.at_target.target_interactivity;
  await plot("frontier-chart", traces, baseLayout(`Pareto frontiers: ${d.model}, ISL ${num(d.isl)} / OSL ${num(d.osl)} (shaded: p10 - p90)`, {
    height: 460, xaxis: logAxis(xs.concat([U]), "interactivity (tokens/s per user, log scale)"),
    yaxis: { title: { text: "total tokens/s per GPU (input + output)" }, rangemode: "tozero" },
    shapes: [{ type: "line", xref: "x", yref: "paper", x0: U, x1: U, y0: 0, y1: 1, line: { color: "#b42318", dash: "dot", width: 1.5 } }],
    annotations: [{ xref: "x", yref: "paper", x: Math.log10(U), y: 1, yanchor: "bottom", showarrow: false, text: `target ${num(U)} tokens/s per user`, font: { color: "#b42318", size: 11 } }],
  }));
  const rows = d.at_target.results;
  const labels = rows.map((r) => `${r.hardware} (${r.mode})`);
  const errs = rows.map((r) => ((r.uncertainty || {}).usd_per_mtok_total) || null);
  const bar = {
    type: "bar", x: labels, y: rows.map((r) => r.usd_per_mtok_total), marker: { color: rows.map((r) => color(r.hardware)) },
    text: rows.map((r) => (r.usd_per_mtok_total === null ? (r.achievable ? "no price" : "not reached") : usd(r.usd_per_mtok_total))),
    textposition: "outside", cliponaxis: false, hovertemplate: "%{x}: $%{y:.3f} per M tokens<extra></extra>",
  };
  if (errs.every((b, i) => b && rows[i].usd_per_mtok_total !== null)) {
    bar.error_y = { type: "data", symmetric: false, array: errs.map((b, i) => Math.max(0, b.p90 - rows[i].usd_per_mtok_total)),
      arrayminus: errs.map((b, i) => Math.max(0, rows[i].usd_per_mtok_total - b.p10)), color: "#344054", thickness: 1.2 };
  }
  await plot("frontier-cost-chart", [bar], baseLayout(`Cost at ${num(U)} tokens/s per user, TCO ${d.preset}` + (bar.error_y ? " (bars: p10 - p90)" : ""), {
    showlegend: false, xaxis: { title: { text: "hardware (serving mode)" } },
    yaxis: { title: { text: "$ per million tokens (input + output)" }, rangemode: "tozero", tickprefix: "$" },
  }));
  fillTable($("#frontier-table"), ["hardware", "mode", "tokens/s per GPU", "$ per M tokens", "$ per M output tokens", "p10 - p90 ($ per M)", "tokens/s per MW", "note"],
    rows, (tr, r) => {
      Object.assign(tr.dataset, { hardware: r.hardware, mode: r.mode });
      tr.append(el("td", {}, r.hardware), el("td", {}, r.mode));
      tr.append(el("td", { class: "num" }, num(r.total_tokens_per_s_per_gpu)));
      tr.append(el("td", { class: "num" }, num(r.usd_per_mtok_total)));
      tr.append(el("td", { class: "num" }, num(r.usd_per_mtok_output)));
      const b = (r.uncertainty || {}).usd_per_mtok_total;
      tr.append(el("td", { class: "num" }, b ? `${num(b.p10)} - ${num(b.p90)}` : DASH));
      tr.append(el("td", { class: "num" }, si(r.tokens_per_s_per_mw)));
      tr.append(el("td", {}, r.note || ""));
    });
  setOut(sec, "summary", `${num(d.evaluated)} configurations evaluated in ${num(d.elapsed_s, 2)} s; weights ${d.weights.join(", ")}; ` +
    `modes ${d.modes.map(modeName).join(", ")}; latency limits: ${slaText(d.sla)}. On the frontier ${d.definitions.pareto}. ` +
    "Costs are per busy GPU-hour (the wall-clock cost divided by the utilization).");
  setOut(sec, "layouts_note", `Layouts: ${term("layouts")}`);
  $('[data-out="warnings"]', sec).replaceChildren(...(d.warnings || []).map((w) => el("li", {}, humanize(w))));
}

// ---------------------------------------------------------------------------------------------- Plan
async function computePlan() {
  const form = $('[data-form="plan"]');
  const file = form.elements.file.files[0];
  if (file) return api("POST", "/api/plan/upload", file, { raw: true, contentType: "application/yaml" });
  return api("POST", "/api/plan", { example: form.elements.example.value });
}
function compact(x) { return si(x); }
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
  setOut(sec, "month_label", s.month_label || DASH);
  setOut(sec, "users", num(s.users));
  setOut(sec, "tokens_per_day", si(s.tokens_per_day));
  setOut(sec, "peak_requests_per_s", num(s.peak_requests_per_s));
  setOut(sec, "gpus", num(s.gpus));
  setOut(sec, "mw", num(s.mw));
  setOut(sec, "cost_usd_per_month", usd(s.cost_usd_per_month));
  setOut(sec, "revenue_usd_per_month", usd(s.revenue_usd_per_month));
  setOut(sec, "gross_margin_pct", pctValue(s.gross_margin_pct));
  setOut(sec, "usd_per_mtok_blended", usd(s.usd_per_mtok_blended));
  setOut(sec, "usd_per_mtok_input", usd(s.usd_per_mtok_input));
  setOut(sec, "usd_per_mtok_output", usd(s.usd_per_mtok_output));
  setOut(sec, "breakeven_usd_per_mtok", usd(s.breakeven_usd_per_mtok));
  setOut(sec, "price_usd_per_mtok_billed", usd(s.price_usd_per_mtok_billed));
  setOut(sec, "horizon_cost_usd", usd(s.horizon_cost_usd));
  setOut(sec, "horizon_margin_usd", usd(s.horizon_margin_usd));
  $('[data-out="sentences"]', sec).replaceChildren(...(s.sentences || []).map((t) => el("li", {}, humanize(t))));
  const x = d.labels;
  const tot = d.demand.totals;
  await plot("plan-demand-chart", [
    { type: "bar", name: "uncached input", x, y: tot.uncached_input_tokens_per_day, marker: { color: COLORS[0] } },
    { type: "bar", name: "cached input", x, y: tot.cached_input_tokens_per_day, marker: { color: "#84adff" } },
    { type: "bar", name: "output", x, y: tot.output_tokens_per_day, marker: { color: COLORS[1] } },
    lineTrace("users (right axis)", x, d.demand.total_users, 6, { yaxis: "y2" }),
  ], baseLayout("Demand: tokens per day (bars) and users (line)", {
    barmode: "stack", xaxis: { title: { text: "month" } },
    yaxis: { title: { text: "tokens per day" }, rangemode: "tozero", exponentformat: "B" },
    yaxis2: { title: { text: "users" }, overlaying: "y", side: "right", rangemode: "tozero", showgrid: false, exponentformat: "B" },
    margin: { r: 70 },
  }));
  const feasible = d.hardware.filter((h) => h.feasible);
  await plot("plan-gpus-chart", feasible.flatMap((h, i) => lineWithBand(h.hardware, x, h.monthly, "gpus", i, {
    line: { color: COLORS[i % COLORS.length], shape: "hv" }, hovertemplate: `%{x}: %{y:,.0f} GPUs<extra>${h.hardware}</extra>` })),
  baseLayout("Fleet: GPUs needed at each month's peak hour", { xaxis: { title: { text: "month" } }, yaxis: { title: { text: "GPUs" }, rangemode: "tozero" } }));
  const best = d.hardware.find((h) => h.hardware === d.best_hardware);
  const money = best ? [
    { type: "bar", name: "capital", x, y: best.monthly.capital_usd, marker: { color: COLORS[0] } },
    { type: "bar", name: "operating", x, y: best.monthly.operating_usd, marker: { color: COLORS[1] } },
    ...(() => { const [lo, hi] = seriesBands(best.monthly, "cost_usd"); return bandTraces(x, lo, hi, COLORS[0], "cost p10 - p90"); })(),
    lineTrace("revenue", x, best.monthly.revenue_usd, 2),
  ] : [];
  await plot("plan-money-chart", money, baseLayout(`Money per month on ${d.best_hardware || DASH}`, {
    barmode: "stack", xaxis: { title: { text: "month" } }, yaxis: { title: { text: "$ per month" }, rangemode: "tozero", tickprefix: "$", exponentformat: "B" } }));
  const usdm = feasible.flatMap((h, i) => lineWithBand(h.hardware, x, h.monthly, "usd_per_mtok_blended", i));
  if (typeof s.price_usd_per_mtok_blended === "number") {
    usdm.push(lineTrace("revenue / M tokens (last month)", x, x.map(() => s.price_usd_per_mtok_blended), 4,
      { mode: "lines", line: { color: COLORS[4], dash: "dash" } }));
  }
  await plot("plan-usdmtok-chart", usdm, baseLayout("Cost per million tokens, blended (fleet + fixed costs)", {
    xaxis: { title: { text: "month" } }, yaxis: { title: { text: "$ per million tokens" }, rangemode: "tozero", tickprefix: "$" } }));
  fillTable($("#plan-table"), ["hardware", "feasible", "peak GPUs", "peak MW", "cost", "revenue", "margin",
    "$ per M tokens (blended)", "reason"], d.hardware, (tr, h) => {
    const t = h.totals || {};
    tr.dataset.hardware = h.hardware;
    tr.append(el("td", {}, h.hardware), el("td", {}, h.feasible ? "yes" : "no"));
    tr.append(el("td", { class: "num" }, num(t.peak_gpus)));
    tr.append(el("td", { class: "num" }, num(t.peak_mw)));
    tr.append(el("td", { class: "num" }, usd(t.cost_usd)));
    tr.append(el("td", { class: "num" }, usd(t.revenue_usd)));
    tr.append(el("td", { class: "num" }, pctValue(t.gross_margin_pct, 1)));
    tr.append(el("td", { class: "num" }, usd(t.usd_per_mtok_blended)));
    tr.append(el("td", { class: "reason" }, humanize(h.reason || "")));
  });
  $('[data-out="warnings"]', sec).replaceChildren(...(d.warnings || []).map((w) => el("li", {}, humanize(w))));
  $('[data-out="notes"]', sec).replaceChildren(...(d.notes || []).map((n) => el("li", {}, humanize(n))));
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
  if (AUTO_VIEWS.has(name) && !state.computed[name] && sec.dataset.status !== "busy") scheduleRun(name, 0);
  else resizeCharts(sec);
}

// ---------------------------------------------------------------------------------------------- setup
function fillSelect(sel, items, { blank, value } = {}) {
  const opts = [];
  if (blank !== undefined) opts.push(el("option", { value: "" }, blank));
  for (const it of items) opts.push(el("option", Object.assign({ value: it.value }, it.title ? { title: it.title } : {}), it.label));
  sel.replaceChildren(...opts);
  if (value !== undefined && items.some((it) => it.value === value)) sel.value = value;
}
// hardware picked with plain clicks (no modifier keys): one toggle chip per hardware, at most `max` on
function fillChecklist(list, hardware, picked, max) {
  const chips = hardware.map((h) => {
    const box = el("input", { type: "checkbox", value: h.key, name: list.dataset.name });
    box.checked = picked.includes(h.key);
    const chip = el("label", { class: "chip" + (box.checked ? " on" : ""), title: h.name });
    chip.append(box, document.createTextNode(h.key));
    return chip;
  });
  list.replaceChildren(...chips);
  const sync = () => {
    const n = $$("input:checked", list).length;
    for (const c of $$("label.chip", list)) {
      const b = $("input", c);
      c.classList.toggle("on", b.checked);
      b.disabled = !b.checked && n >= max;
      c.classList.toggle("off", b.disabled);
    }
  };
  list.addEventListener("change", sync);
  sync();
}
function populate(meta) {
  if (meta.colors) COLORS = meta.colors;
  const models = meta.models.map((m) => ({ value: m.key, label: m.key, title: `${m.name} (${m.native_weights} checkpoint)` }));
  const hw = meta.hardware.map((h) => ({ value: h.key, label: h.key, title: h.name }));
  const presets = meta.presets.map((p) => ({ value: p, label: p }));
  for (const sel of $$("select[data-kind]")) {
    const kind = sel.dataset.kind;
    if (kind === "model") fillSelect(sel, models, { value: DEFAULTS.model });
    else if (kind === "model-optional") fillSelect(sel, models, { blank: "— no comparison —" });
    else if (kind === "hardware") fillSelect(sel, hw, { value: DEFAULTS.hardware });
    else if (kind === "hardware-optional") fillSelect(sel, hw, { blank: "— none (give a price) —" });
    else if (kind === "weights") fillSelect(sel, meta.precisions.weights.map((p) => ({ value: p, label: p })), { blank: "the checkpoint's (default)" });
    else if (kind === "kv") fillSelect(sel, meta.precisions.kv.map((p) => ({ value: p, label: p })), { blank: "default (follows the weights)" });
    else if (kind === "preset") fillSelect(sel, presets.map((p) => (p.value === meta.default_preset ? { value: p.value, label: `${p.label} (default)` } : p)), { value: meta.default_preset });
    else if (kind === "preset-optional") fillSelect(sel, presets, { blank: `default (${meta.default_preset})` });
    else if (kind === "example") fillSelect(sel, meta.examples.map((x) => ({ value: x, label: x })));
    else if (kind === "engine-optional") fillSelect(sel, (meta.engines || []).map((e) => ({ value: e.key, label: e.key, title: e.name })), { blank: "the hardware vendor's (default)" });
  }
  for (const list of $$('.checklist[data-kind="hardware-multi"]')) fillChecklist(list, meta.hardware, DEFAULTS.frontierHardware, meta.limits.max_hardware);
  for (const n of $$('[data-limit="max_hardware"]')) n.textContent = String(meta.limits.max_hardware);
  for (const n of $$('[data-limit="max_body_mib"]')) n.textContent = String(meta.limits.max_body_bytes / 1048576);
  $("#version").textContent = `tokenfab ${meta.version}`;
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
  for (const b of $$('[data-action="copy-cli"]')) b.addEventListener("click", () => copyCli(b));
}
async function init() {
  wire();
  const r = await api("GET", "/api/meta");
  if (!r.ok) {
    const g = $("#global-error"); g.textContent = `Cannot load the catalog: ${r.data.error}`; g.hidden = false; return;
  }
  state.meta = r.data;
  populate(r.data);
  decorateTerms();
  if (!window.Plotly) { const g = $("#global-error"); g.textContent = "Plotly.js did not load: charts are unavailable."; g.hidden = false; }
  document.body.dataset.ready = "1";
  showTab(location.hash.slice(1) || "fit");
}
document.addEventListener("DOMContentLoaded", init);

// the SLA as words: only the limits that are set (tokenfab.api.explain.sla_text)
function slaText(sla) {
  const parts = [];
  if (sla.ttft_max_ms != null) parts.push(`TTFT ${sla.percentile || ""} <= ${num(sla.ttft_max_ms)} ms`);
  if (sla.tpot_max_ms != null) parts.push(`TPOT <= ${num(sla.tpot_max_ms)} ms`);
  if (sla.e2el_max_ms != null) parts.push(`E2E ${sla.percentile || ""} <= ${num(sla.e2el_max_ms)} ms`);
  if (sla.min_interactivity != null) parts.push(`interactivity >= ${num(sla.min_interactivity)} tok/s/user`);
  return parts.length ? parts.join(", ") : "none";
}
window.tokenfabFormat = FORMAT; // the browser tests compare these rules with tokenfab.render.format
