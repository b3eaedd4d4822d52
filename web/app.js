// scivec web page: everything it shows comes from the JSON API of
// `scivec serve` (docs/SERVER.md). The page's state lives in its URL, so
// every view is a link and a reload shows the same thing:
//   /?q=TEXT[&category=C][&year=Y]      free-text search   (GET /search)
//   /?similar=ID[&category=C][&year=Y]  more like this     (GET /similar/ID)
//   /?positive=A,B&negative=C           recommendations    (POST /recommend)
// When a view has rendered, <body data-state> is "done" (or "error"): the
// browser test waits for it.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

function listParam(name) {
  return (params.get(name) || "").split(",").map((s) => s.trim()).filter(Boolean);
}

const picks = { positive: listParam("positive"), negative: listParam("negative") };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function finish(state) {
  document.body.dataset.state = state;
}

// Query string of the filters shown in the form (category, year) and of
// the number of results (k; 10, the server's default, is left out).
function filterQuery() {
  const q = new URLSearchParams();
  const category = $("category").value.trim();
  const year = $("year").value.trim();
  const k = $("k").value;
  if (category) q.set("category", category);
  if (year) q.set("year", year);
  if (k && k !== "10") q.set("k", k);
  return q;
}

// Shows the URL's k in the chooser (a k the list lacks is added to it).
function showK(k) {
  if (!k) return;
  const select = $("k");
  if (!Array.from(select.options).some((o) => o.value === k)) select.append(el("option", {}, k));
  select.value = k;
}

function pageUrl(extra) {
  const q = filterQuery();
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return "/?" + q.toString();
}

async function api(path, options) {
  const response = await keyedFetch(path, options);
  let body;
  try {
    body = await response.json();
  } catch (e) {
    throw new Error(`${path}: HTTP ${response.status}, not JSON`);
  }
  if (!response.ok) {
    const message = body && body.error ? body.error.message : `HTTP ${response.status}`;
    throw new Error(message);
  }
  return body;
}

function pickState(id) {
  if (picks.positive.includes(id)) return "positive";
  if (picks.negative.includes(id)) return "negative";
  return null;
}

function togglePick(id, kind) {
  const other = kind === "positive" ? "negative" : "positive";
  picks[other] = picks[other].filter((x) => x !== id);
  if (picks[kind].includes(id)) picks[kind] = picks[kind].filter((x) => x !== id);
  else picks[kind].push(id);
  savePicks();
}

// Keeps the picks in the URL so that they survive reloads and links.
function savePicks() {
  const q = new URLSearchParams(location.search);
  for (const k of ["positive", "negative"]) {
    if (picks[k].length) q.set(k, picks[k].join(","));
    else q.delete(k);
  }
  history.replaceState(null, "", "/?" + q.toString());
  renderPicks();
  for (const li of document.querySelectorAll(".result")) updatePickButtons(li);
}

function updatePickButtons(li) {
  const state = pickState(li.dataset.paperId);
  li.querySelector(".pick-positive").className = "pick-positive" + (state === "positive" ? " on" : "");
  li.querySelector(".pick-negative").className = "pick-negative" + (state === "negative" ? " off" : "");
}

function renderPicks() {
  const list = $("pick-list");
  list.replaceChildren();
  for (const kind of ["positive", "negative"]) {
    for (const id of picks[kind]) {
      list.append(el("li", { class: "pick", "data-kind": kind },
        kind === "positive" ? "liked: " : "disliked: ", el("a", { href: pageUrl({ similar: id }) }, id)));
    }
  }
  $("picks").hidden = picks.positive.length + picks.negative.length === 0;
  $("recommend-button").disabled = picks.positive.length === 0;
}

function renderResults(results) {
  const ol = $("results");
  ol.replaceChildren();
  for (const r of results) {
    const title = r.url
      ? el("a", { class: "title", href: r.url, target: "_blank", rel: "noopener" }, r.title || r.paper_id)
      : el("span", { class: "title" }, r.title || r.paper_id);
    const categories = el("span", { class: "categories" },
      ...r.categories.map((c) => el("span", { class: "category" }, c)));
    const li = el("li", { class: "result", "data-paper-id": r.paper_id },
      title,
      el("div", { class: "authors meta" }, (r.authors || []).join(", ") || "(authors unknown)"),
      r.snippet ? el("p", { class: "snippet" }, r.snippet) : null,
      el("div", { class: "meta" },
        el("span", { class: "paper-id" }, r.paper_id), " · ", categories, " · ",
        el("span", { class: "year" }, r.year === null ? "year unknown" : String(r.year)), " · ",
        el("span", { class: "score", title: "cosine similarity" }, r.score.toFixed(4))),
      el("div", { class: "actions" },
        el("a", { class: "more-like-this", href: pageUrl({ similar: r.paper_id }) }, "More like this"),
        el("button", { type: "button", class: "pick-positive", title: "more like this one",
                       onclick: () => togglePick(r.paper_id, "positive") }, "Like"),
        el("button", { type: "button", class: "pick-negative", title: "less like this one",
                       onclick: () => togglePick(r.paper_id, "negative") }, "Dislike")));
    updatePickButtons(li);
    ol.append(li);
  }
}

function showHeading(text) {
  $("heading").hidden = false;
  $("heading").textContent = text;
}

async function run() {
  $("q").value = params.get("q") || "";
  $("category").value = params.get("category") || "";
  $("year").value = params.get("year") || "";
  showK(params.get("k"));
  $("k").addEventListener("change", () => {
    // a new k re-runs the view shown, with the filters in the form
    const q = new URLSearchParams(location.search);
    for (const [key, value] of filterQuery()) q.set(key, value);
    if ($("k").value === "10") q.delete("k");
    location.href = "/?" + q.toString();
  });
  renderPicks();
  $("recommend-button").addEventListener("click", () => {
    const q = new URLSearchParams();
    q.set("positive", picks.positive.join(","));
    if (picks.negative.length) q.set("negative", picks.negative.join(","));
    q.set("recommend", "1");
    location.href = "/?" + q.toString();
  });
  $("clear-picks").addEventListener("click", () => {
    picks.positive = [];
    picks.negative = [];
    savePicks();
  });

  try {
    const health = await api("/health");
    $("info").textContent = `${health.papers} papers · model ${health.model} (${health.pooling} pooling)`;
  } catch (e) {
    $("info").textContent = "server not answering: " + e.message;
  }

  const filters = filterQuery();
  const k = filters.get("k");
  try {
    let answer;
    if (params.get("similar")) {
      const id = params.get("similar");
      setStatus("Finding similar papers…");
      answer = await api(`/similar/${encodeURIComponent(id).replace(/%2F/g, "/")}?${filters}`);
      showHeading(`Papers like ${answer.paper.paper_id}: ${answer.paper.title || ""}`);
    } else if (params.get("recommend") && picks.positive.length) {
      setStatus("Recommending…");
      const body = { positive: picks.positive, negative: picks.negative };
      if (k) body.k = Number(k);
      if (filters.get("category")) body.category = filters.get("category");
      if (filters.get("year")) body.year = filters.get("year");
      answer = await api("/recommend", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      showHeading(`Recommended from ${picks.positive.length} liked` +
                  (picks.negative.length ? ` and ${picks.negative.length} disliked` : "") + " papers");
    } else if (params.get("q")) {
      filters.set("q", params.get("q"));
      setStatus("Searching…");
      answer = await api(`/search?${filters}`);
      showHeading(`Papers for “${answer.query}”`);
    } else {
      setStatus("Type what you are looking for; Like / Dislike results to get recommendations.");
      finish("done");
      return;
    }
    renderResults(answer.results);
    setStatus(answer.results.length ? `${answer.results.length} papers` : "No papers pass the filters.");
    finish("done");
  } catch (e) {
    setStatus(e.message, true);
    finish("error");
  }
}

run();
