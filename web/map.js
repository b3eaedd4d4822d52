// scivec map page: the layout of `scivec map` (GET /map, a binary answer:
// docs/SERVER.md) drawn on a canvas. Points are written straight into an
// ImageData buffer (one 32-bit store per pixel), so a frame of 100k points
// costs a few milliseconds; highlights (search results, the selected paper,
// its similar papers) are drawn over it as rings. A uniform grid over the
// layout finds the point under the cursor.
// State in the URL: /map.html?paper=ID&q=TEXT. When a view has rendered,
// <body data-state> is "done" (or "error"); the browser test waits for it.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
// Colours for the most common primary categories (Tableau 20); the rest grey.
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#17becf", "#bcbd22", "#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
  "#c49c94", "#f7b6d2", "#9edae5", "#dbdb8d", "#393b79"];
const OTHER = "#b8bfcc";
const BACKGROUND = "#fdfdfe";
const LEGEND_MAX = 20;

const map = { n: 0, xy: null, cat: null, categories: [], ids: [], titles: [], rowOf: new Map() };
const view = { scale: 1, tx: 0, ty: 0 };          // css px = data * scale + t
const marks = { selected: -1, similar: [], search: [] };
let canvas, ctx, image, pixels, dpr = 1, cssW = 0, cssH = 0, hover = -1;
let colour32 = null, drawPending = false;
const frameTimes = [];
let grid = null;

function finish(state) { document.body.dataset.state = state; }
function setStatus(text, isError) {
  $("map-status").textContent = text;
  $("map-status").className = isError ? "error" : "";
}

function parseMap(buffer) {
  const dv = new DataView(buffer);
  const magic = new TextDecoder().decode(new Uint8Array(buffer, 0, 8));
  if (magic !== "SVMAP001") throw new Error("GET /map: not a scivec map");
  const n = dv.getUint32(8, true), jsonLen = dv.getUint32(12, true);
  const catBytes = (n * 2 + 3) & ~3;
  map.n = n;
  map.xy = new Float32Array(buffer, 16, n * 2);
  map.cat = new Uint16Array(buffer, 16 + n * 8, n);
  const meta = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 16 + n * 8 + catBytes, jsonLen)));
  map.categories = meta.categories;
  map.ids = meta.ids;
  map.titles = meta.titles;
  map.record = meta.map;
  map.ids.forEach((id, i) => map.rowOf.set(id, i));
}

function rgb(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}
// ImageData is RGBA bytes: one little-endian uint32 is ABGR
function pack(hex) {
  const [r, g, b] = rgb(hex);
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

function categoryColour(c) {
  return c < PALETTE.length ? PALETTE[c] : OTHER;
}

function buildColours() {
  colour32 = new Uint32Array(map.categories.length + 1);
  for (let c = 0; c < map.categories.length; c++) colour32[c] = pack(categoryColour(c));
  colour32[map.categories.length] = pack(OTHER);
}

function buildLegend() {
  const counts = new Array(map.categories.length).fill(0);
  let none = 0;
  for (let i = 0; i < map.n; i++) {
    if (map.cat[i] === 65535) none++;
    else counts[map.cat[i]]++;
  }
  const ul = $("map-legend");
  ul.replaceChildren();
  const shown = Math.min(map.categories.length, PALETTE.length, LEGEND_MAX);
  const item = (colour, name, count) => {
    const li = document.createElement("li");
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = colour;
    li.append(sw, `${name} (${count})`);
    li.title = name;
    ul.append(li);
  };
  for (let c = 0; c < shown; c++) item(PALETTE[c], map.categories[c], counts[c]);
  let rest = none;
  for (let c = shown; c < counts.length; c++) rest += counts[c];
  if (rest) item(OTHER, "other", rest);
}

// Grid over the layout: cell -> rows, for the point under the cursor.
function buildGrid() {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < map.n; i++) {
    const x = map.xy[2 * i], y = map.xy[2 * i + 1];
    if (x < x0) x0 = x; if (x > x1) x1 = x;
    if (y < y0) y0 = y; if (y > y1) y1 = y;
  }
  const side = Math.max(1, Math.ceil(Math.sqrt(map.n / 4)));
  const w = (x1 - x0) || 1, h = (y1 - y0) || 1;
  const cellOf = (i) => {
    const cx = Math.min(side - 1, Math.floor((map.xy[2 * i] - x0) / w * side));
    const cy = Math.min(side - 1, Math.floor((map.xy[2 * i + 1] - y0) / h * side));
    return cy * side + cx;
  };
  const start = new Int32Array(side * side + 1);
  for (let i = 0; i < map.n; i++) start[cellOf(i) + 1]++;
  for (let c = 0; c < side * side; c++) start[c + 1] += start[c];
  const fill = start.slice(0, side * side), rows = new Int32Array(map.n);
  for (let i = 0; i < map.n; i++) rows[fill[cellOf(i)]++] = i;
  grid = { x0, y0, w, h, side, start, rows };
}

// The row nearest css point (sx, sy) within radius css px, or -1.
function pick(sx, sy, radius) {
  if (!grid) return -1;
  const x = (sx - view.tx) / view.scale, y = (sy - view.ty) / view.scale, r = radius / view.scale;
  const g = grid;
  const clampCell = (v) => Math.max(0, Math.min(g.side - 1, v));
  const cx0 = clampCell(Math.floor((x - r - g.x0) / g.w * g.side));
  const cx1 = clampCell(Math.floor((x + r - g.x0) / g.w * g.side));
  const cy0 = clampCell(Math.floor((y - r - g.y0) / g.h * g.side));
  const cy1 = clampCell(Math.floor((y + r - g.y0) / g.h * g.side));
  let best = -1, bestD = r * r;
  for (let cy = cy0; cy <= cy1; cy++) {
    for (let cx = cx0; cx <= cx1; cx++) {
      const c = cy * g.side + cx;
      for (let k = g.start[c]; k < g.start[c + 1]; k++) {
        const i = g.rows[k];
        const dx = map.xy[2 * i] - x, dy = map.xy[2 * i + 1] - y;
        const d = dx * dx + dy * dy;
        if (d <= bestD) { bestD = d; best = i; }
      }
    }
  }
  return best;
}

function fitView() {
  const pad = 12;
  const s = Math.min((cssW - 2 * pad) / grid.w, (cssH - 2 * pad) / grid.h);
  view.scale = s;
  view.tx = (cssW - grid.w * s) / 2 - grid.x0 * s;
  view.ty = (cssH - grid.h * s) / 2 - grid.y0 * s;
}

function resize() {
  dpr = window.devicePixelRatio || 1;
  const rect = canvas.getBoundingClientRect();
  cssW = Math.max(1, rect.width);
  cssH = Math.max(1, rect.height);
  canvas.width = Math.round(cssW * dpr);
  canvas.height = Math.round(cssH * dpr);
  image = ctx.createImageData(canvas.width, canvas.height);
  pixels = new Uint32Array(image.data.buffer);
}

// Css position of a row on the page (for tests and the tooltip).
function project(i) {
  return [map.xy[2 * i] * view.scale + view.tx, map.xy[2 * i + 1] * view.scale + view.ty];
}

function ring(i, radius, colour, width) {
  const [x, y] = project(i);
  ctx.beginPath();
  ctx.arc(x * dpr, y * dpr, radius * dpr, 0, 2 * Math.PI);
  ctx.strokeStyle = colour;
  ctx.lineWidth = width * dpr;
  ctx.stroke();
}

function draw() {
  const t0 = performance.now();
  drawPending = false;
  const W = canvas.width, H = canvas.height;
  pixels.fill(pack(BACKGROUND));
  // bigger dots while they are few enough not to cover each other
  const css = map.n <= 2000 ? 4 : map.n <= 20000 ? 3 : 2;
  const size = Math.max(2, Math.round(css * dpr));
  const s = view.scale * dpr, tx = view.tx * dpr, ty = view.ty * dpr;
  const xy = map.xy, cat = map.cat, other = colour32[colour32.length - 1], nc = colour32.length - 1;
  for (let i = 0; i < map.n; i++) {
    const px = (xy[2 * i] * s + tx) | 0, py = (xy[2 * i + 1] * s + ty) | 0;
    if (px < 0 || py < 0 || px + size > W || py + size > H) continue;
    const c = cat[i] < nc ? colour32[cat[i]] : other;
    let o = py * W + px;
    for (let dy = 0; dy < size; dy++, o += W)
      for (let dx = 0; dx < size; dx++) pixels[o + dx] = c;
  }
  ctx.putImageData(image, 0, 0);
  for (const i of marks.search) ring(i, 5, "#111", 1.5);
  for (const i of marks.similar) ring(i, 6, "#e8590c", 2);
  if (marks.selected >= 0) ring(marks.selected, 9, "#000", 2.5);
  if (hover >= 0) ring(hover, 5, "#444", 1);
  frameTimes.push(performance.now() - t0);
  if (frameTimes.length > 1000) frameTimes.shift();
}

function redraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(draw);
}

function showTip(i, sx, sy) {
  const tip = $("map-tip");
  if (i < 0) { tip.hidden = true; return; }
  const c = map.cat[i];
  tip.textContent = `${map.titles[i] || map.ids[i]}` + (c !== 65535 ? ` · ${map.categories[c]}` : "");
  tip.hidden = false;
  tip.style.left = `${Math.min(sx + 12, cssW - 200)}px`;
  tip.style.top = `${sy + 12}px`;
}

async function api(path) {
  const response = await keyedFetch(path);
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error((body && body.error && body.error.message) || `HTTP ${response.status}`);
  return body;
}

function setUrl() {
  const q = new URLSearchParams();
  if (marks.selected >= 0) q.set("paper", map.ids[marks.selected]);
  if ($("map-q").value.trim()) q.set("q", $("map-q").value.trim());
  history.replaceState(null, "", "/map.html" + (q.toString() ? "?" + q : ""));
}

async function selectPaper(i) {
  marks.selected = i;
  marks.similar = [];
  setUrl();
  redraw();
  finish("loading");
  const id = map.ids[i];
  const path = encodeURIComponent(id).replace(/%2F/g, "/");
  try {
    const [paper, similar] = await Promise.all([api(`/papers/${path}`), api(`/similar/${path}?k=10`)]);
    $("map-paper").hidden = false;
    $("map-paper").dataset.paperId = id;
    const title = $("map-paper-title");
    title.replaceChildren();
    if (paper.url) {
      const a = document.createElement("a");
      a.href = paper.url; a.target = "_blank"; a.rel = "noopener";
      a.textContent = paper.title || id;
      title.append(a);
    } else {
      title.textContent = paper.title || id;
    }
    $("map-paper-meta").textContent = [id, (paper.authors || []).join(", "), paper.categories.join(" "),
      paper.year === null ? "" : String(paper.year)].filter(Boolean).join(" · ");
    const ol = $("map-similar");
    ol.replaceChildren();
    for (const r of similar.results) {
      const row = map.rowOf.get(r.paper_id);
      if (row !== undefined) marks.similar.push(row);
      const li = document.createElement("li");
      li.dataset.paperId = r.paper_id;
      li.textContent = `${r.title || r.paper_id} (${r.score.toFixed(3)})`;
      if (row !== undefined) li.addEventListener("click", () => selectPaper(row));
      ol.append(li);
    }
    redraw();
    finish("done");
  } catch (e) {
    setStatus(e.message, true);
    finish("error");
  }
}

async function search(q) {
  marks.search = [];
  setUrl();
  if (!q) { redraw(); setStatus(""); return; }
  finish("loading");
  try {
    const answer = await api(`/search?q=${encodeURIComponent(q)}&k=50`);
    for (const r of answer.results) {
      const row = map.rowOf.get(r.paper_id);
      if (row !== undefined) marks.search.push(row);
    }
    setStatus(`${marks.search.length} papers for “${q}” ringed on the map`);
    redraw();
    finish("done");
  } catch (e) {
    setStatus(e.message, true);
    finish("error");
  }
}

function listen() {
  let drag = null;
  canvas.addEventListener("pointerdown", (e) => {
    drag = { x: e.offsetX, y: e.offsetY, moved: 0 };
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (drag) {
      const dx = e.offsetX - drag.x, dy = e.offsetY - drag.y;
      drag.moved += Math.abs(dx) + Math.abs(dy);
      drag.x = e.offsetX; drag.y = e.offsetY;
      view.tx += dx; view.ty += dy;
      redraw();
      return;
    }
    const i = pick(e.offsetX, e.offsetY, 6);
    if (i !== hover) { hover = i; redraw(); }
    showTip(i, e.offsetX, e.offsetY);
  });
  canvas.addEventListener("pointerup", (e) => {
    const click = drag && drag.moved < 4;
    drag = null;
    if (!click) return;
    const i = pick(e.offsetX, e.offsetY, 8);
    if (i >= 0) selectPaper(i);
  });
  canvas.addEventListener("pointerleave", () => { hover = -1; showTip(-1); redraw(); });
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const f = Math.exp(-e.deltaY * 0.0015);
    view.tx = e.offsetX - (e.offsetX - view.tx) * f;
    view.ty = e.offsetY - (e.offsetY - view.ty) * f;
    view.scale *= f;
    redraw();
  }, { passive: false });
  window.addEventListener("resize", () => { resize(); fitView(); redraw(); });
  $("map-search").addEventListener("submit", (e) => { e.preventDefault(); search($("map-q").value.trim()); });
  $("map-clear").addEventListener("click", () => {
    $("map-q").value = "";
    marks.search = []; marks.similar = []; marks.selected = -1;
    $("map-paper").hidden = true;
    setUrl(); setStatus(""); redraw();
  });
}

// Draws `frames` frames while zooming in and out; the milliseconds each took
// (the main thread's work: raster into ImageData, upload, rings).
function frameBench(frames) {
  const saved = { ...view };
  const times = [];
  for (let f = 0; f < frames; f++) {
    const z = Math.exp(Math.sin(f / 10) * 0.5);
    view.scale = saved.scale * z;
    view.tx = cssW / 2 - (cssW / 2 - saved.tx) * z;
    view.ty = cssH / 2 - (cssH / 2 - saved.ty) * z;
    const t0 = performance.now();
    draw();
    ctx.getImageData(0, 0, 1, 1);   // waits for the canvas to be drawn
    times.push(performance.now() - t0);
  }
  Object.assign(view, saved);
  draw();
  times.sort((a, b) => a - b);
  return { frames, mean: times.reduce((a, b) => a + b, 0) / frames, median: times[frames >> 1],
           p95: times[Math.floor(frames * 0.95)], points: map.n };
}

async function main() {
  canvas = $("map-canvas");
  ctx = canvas.getContext("2d", { willReadFrequently: false });
  try {
    const response = await keyedFetch("/map");
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new Error((body && body.error && body.error.message) || `GET /map: HTTP ${response.status}`);
    }
    parseMap(await response.arrayBuffer());
  } catch (e) {
    setStatus(e.message, true);
    finish("error");
    return;
  }
  buildColours();
  buildLegend();
  buildGrid();
  resize();
  fitView();
  listen();
  draw();
  const info = map.record && map.record.quality ? ` · trustworthiness ${Number(map.record.quality.trustworthiness).toFixed(3)}` : "";
  $("map-info").textContent = `${map.n} papers${info}. Drag to pan, wheel to zoom, hover for a title, click for the paper and its similar papers.`;
  window.scivecMap = { project, frameBench, n: map.n, ids: map.ids, marks, pick };
  const q = params.get("q"), paper = params.get("paper");
  if (q) $("map-q").value = q;
  if (q) await search(q);
  if (paper && map.rowOf.has(paper)) await selectPaper(map.rowOf.get(paper));
  if (document.body.dataset.state !== "error") finish("done");
}

main();
