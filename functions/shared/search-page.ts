/**
 * The search page served at GET /: one HTML document with one inline style and one inline script
 * (plain DOM code, no framework: the page is small and must load without a build step). It calls
 * GET /search relative to itself, so it works under an API Gateway stage path too.
 *
 * Hit text is never inserted as HTML: highlights (HTML-escaped by the API, with <mark> around the
 * matched terms) are parsed into an inert document and rebuilt from their text and <mark> nodes only.
 * The handler's Content-Security-Policy allows exactly this script and style (by hash).
 */

export const SEARCH_PAGE_STYLE = String.raw`
:root { color-scheme: light dark; --muted: #667; --line: #d8dbe2; --accent: #1264a3; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; }
header, main { max-width: 860px; margin: 0 auto; padding: 0 16px; }
header h1 { font-size: 20px; margin: 18px 0 10px; }
form { display: grid; gap: 10px; }
.query { display: flex; gap: 8px; }
.query input { flex: 1; font: inherit; padding: 8px 10px; border: 1px solid var(--line); border-radius: 6px; }
button { font: inherit; padding: 7px 14px; border-radius: 6px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); }
button:disabled { opacity: .45; cursor: default; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
:focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
fieldset { border: 0; padding: 0; margin: 0; display: flex; gap: 14px; flex-wrap: wrap; align-items: center; }
legend { font-weight: 600; padding: 0; margin-right: 6px; float: left; }
.filters label { display: flex; flex-direction: column; font-size: 13px; color: var(--muted); }
.filters input { font: inherit; padding: 4px 6px; border: 1px solid var(--line); border-radius: 5px; }
.hint { font-size: 13px; color: var(--muted); margin: 0; }
.hint code { font-size: 12px; }
#status { margin: 14px 0 6px; color: var(--muted); min-height: 1.4em; }
#status.error { color: #b3261e; }
ol#results { list-style: none; padding: 0; margin: 0; }
ol#results > li { border-top: 1px solid var(--line); padding: 12px 0; }
.meta { font-size: 13px; color: var(--muted); display: flex; gap: 8px; flex-wrap: wrap; }
.meta .author { font-weight: 600; color: inherit; }
.snippet { margin: 4px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.snippet + .snippet::before { content: "… "; color: var(--muted); }
mark { background: #ffe58a; color: #000; border-radius: 2px; padding: 0 1px; }
.thread { font-size: 13px; border-left: 3px solid var(--line); padding-left: 8px; margin: 6px 0; color: var(--muted); }
.context { font-size: 13px; color: var(--muted); margin: 2px 0; }
.ranks { font-size: 12px; color: var(--muted); }
nav.pager { display: flex; gap: 8px; align-items: center; margin: 14px 0 40px; }
a { color: var(--accent); }
`;

export const SEARCH_PAGE_SCRIPT = String.raw`
"use strict";
(function () {
  var form = document.getElementById("search-form");
  var status = document.getElementById("status");
  var list = document.getElementById("results");
  var prev = document.getElementById("prev");
  var next = document.getElementById("next");
  var pageLabel = document.getElementById("page");
  // Cursors of the pages before the current one (the API pages forward only).
  var cursors = [];
  var current = null;
  var nextCursor = null;

  function field(name) { return form.elements.namedItem(name); }
  function value(name) { var el = field(name); return el && el.value ? el.value.trim() : ""; }
  function strategy() { var el = form.querySelector("input[name=strategy]:checked"); return el ? el.value : "hybrid"; }

  function params(cursor) {
    var p = new URLSearchParams();
    p.set("q", value("q"));
    p.set("strategy", strategy());
    ["channel", "author", "from", "to"].forEach(function (name) { if (value(name)) p.set(name, value(name)); });
    p.set("limit", "10");
    p.set("explain", "true");
    p.set("context", "1");
    if (cursor) p.set("cursor", cursor);
    return p;
  }

  // The page's own address keeps the query, so a search can be shared or opened from Slack.
  function remember() {
    var p = params(null);
    p.delete("limit");
    p.delete("explain");
    history.replaceState(null, "", "?" + p.toString());
  }

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // Rebuilds an API highlight ("text with <mark>term</mark>", content HTML-escaped) from its
  // text and <mark> nodes only: nothing in a message can become markup here.
  function highlightNode(fragment) {
    var doc = new DOMParser().parseFromString("<p>" + fragment + "</p>", "text/html");
    var out = el("p", "snippet");
    (function copy(from, to) {
      from.childNodes.forEach(function (n) {
        if (n.nodeType === 3) to.appendChild(document.createTextNode(n.nodeValue));
        else if (n.nodeType === 1 && n.nodeName === "MARK") copy(n, to.appendChild(document.createElement("mark")));
        else if (n.nodeType === 1) copy(n, to);
      });
    })(doc.body.firstChild || doc.body, out);
    return out;
  }

  function snippets(hit) {
    if (Array.isArray(hit.highlights) && hit.highlights.length > 0) return hit.highlights.map(highlightNode);
    var text = hit.content.length > 400 ? hit.content.slice(0, 400) + " …" : hit.content;
    return [el("p", "snippet", text)];
  }

  function when(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  function contextLine(m) {
    return el("p", "context", (m.author_name || m.author || "") + ": " + (m.content || ""));
  }

  function render(body) {
    list.replaceChildren();
    body.results.forEach(function (hit) {
      var li = el("li");
      var article = el("article");
      var meta = el("p", "meta");
      meta.appendChild(el("span", "author", hit.author_name || hit.author));
      meta.appendChild(el("span", "channel", "#" + String(hit.channel_name || hit.channel).replace(/^#/, "")));
      var time = el("time", null, when(hit.timestamp));
      time.setAttribute("datetime", hit.timestamp);
      meta.appendChild(time);
      if (hit.permalink) {
        var a = el("a", null, "Open in Slack");
        a.href = hit.permalink;
        a.rel = "noopener noreferrer";
        a.target = "_blank";
        meta.appendChild(a);
      }
      article.appendChild(meta);
      var around = hit.context || { before: [], after: [] };
      around.before.forEach(function (m) { article.appendChild(contextLine(m)); });
      snippets(hit).forEach(function (s) { article.appendChild(s); });
      around.after.forEach(function (m) { article.appendChild(contextLine(m)); });
      var thread = hit.thread;
      if (thread && (thread.parent || thread.reply_count)) {
        var t = el("div", "thread");
        if (thread.parent && thread.parent.message_id !== hit.message_id)
          t.appendChild(el("p", null, "In reply to " + (thread.parent.author_name || thread.parent.author) + ": " + thread.parent.content));
        if (thread.reply_count) t.appendChild(el("p", null, thread.reply_count + " replies" +
          (thread.other_matching_ids && thread.other_matching_ids.length ? ", " + thread.other_matching_ids.length + " more matching" : "")));
        article.appendChild(t);
      } else if (hit.thread_id) {
        article.appendChild(el("p", "thread", "In a thread"));
      }
      if (hit.ranks) {
        var parts = [];
        if (hit.ranks.bm25) parts.push("keyword #" + hit.ranks.bm25);
        if (hit.ranks.semantic) parts.push("semantic #" + hit.ranks.semantic);
        article.appendChild(el("p", "ranks", parts.join(" · ") + " · score " + Number(hit.score).toFixed(3)));
      }
      li.appendChild(article);
      list.appendChild(li);
    });
    var n = body.results.length;
    var text = n === 0 ? "No results" : n + (n === 1 ? " result" : " results") + " on this page";
    text += " (" + body.strategy + ", " + body.took_ms + " ms)";
    if (body.degraded && body.degraded.length) text += "; unavailable: " + body.degraded.join(", ");
    if (body.not_applied && body.not_applied.length)
      text += "; not applied: " + body.not_applied.map(function (u) { return u.modifier + " (" + u.reason + ")"; }).join(", ");
    status.textContent = text;
    status.classList.remove("error");
  }

  function errorText(res, body) {
    if (body && body.error) {
      var detail = (body.details || []).map(function (d) { return d.path + ": " + d.message; }).join("; ");
      return body.error + (detail ? " (" + detail + ")" : "");
    }
    return "HTTP " + res.status;
  }

  async function run(cursor) {
    if (!value("q")) { status.textContent = "Type something to search for."; return; }
    status.classList.remove("error");
    status.textContent = "Searching…";
    list.setAttribute("aria-busy", "true");
    try {
      var res = await fetch("search?" + params(cursor).toString(), { headers: { accept: "application/json" } });
      var body = await res.json().catch(function () { return null; });
      if (!res.ok || !body) throw new Error(errorText(res, body));
      current = cursor;
      nextCursor = body.next_cursor;
      render(body);
    } catch (err) {
      list.replaceChildren();
      nextCursor = null;
      status.textContent = "Search failed: " + (err && err.message ? err.message : String(err));
      status.classList.add("error");
    } finally {
      list.removeAttribute("aria-busy");
      prev.disabled = cursors.length === 0;
      next.disabled = !nextCursor;
      pageLabel.textContent = "Page " + (cursors.length + 1);
    }
  }

  function fresh() { cursors = []; current = null; remember(); return run(null); }

  form.addEventListener("submit", function (e) { e.preventDefault(); fresh(); });
  form.querySelectorAll("input[name=strategy]").forEach(function (r) {
    r.addEventListener("change", function () { if (value("q")) fresh(); });
  });
  next.addEventListener("click", function () { if (nextCursor) { cursors.push(current); run(nextCursor); } });
  prev.addEventListener("click", function () { if (cursors.length) run(cursors.pop()); });

  // Opened with ?q=... (a shared link, Slack's "More results"): fill the form and search.
  var initial = new URLSearchParams(location.search);
  ["q", "channel", "author", "from", "to"].forEach(function (name) {
    if (initial.get(name)) field(name).value = initial.get(name);
  });
  var s = initial.get("strategy");
  if (s) { var radio = form.querySelector("input[name=strategy][value=" + JSON.stringify(s) + "]"); if (radio) radio.checked = true; }
  if (value("q")) fresh();
})();
`;

export function searchPageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Trisearch</title>
<link rel="icon" href="data:,">
<style>${SEARCH_PAGE_STYLE}</style>
</head>
<body>
<header><h1>Trisearch</h1></header>
<main>
<form id="search-form" role="search" aria-label="Message search">
  <div class="query">
    <label for="q" class="visually-hidden">Search messages</label>
    <input id="q" name="q" type="search" autocomplete="off" autofocus
      placeholder="oauth rollout  from:@alice  in:#auth-team  after:2025-11-01" aria-describedby="q-hint">
    <button type="submit">Search</button>
  </div>
  <p class="hint" id="q-hint">Words, "phrases", <code>-exclude</code>, <code>OR</code>, and Slack's modifiers:
    <code>in:#channel</code> <code>from:@person</code> <code>before:</code> <code>after:</code> <code>on:</code> <code>has:link</code> <code>is:thread</code>.</p>
  <fieldset>
    <legend>Strategy</legend>
    <label><input type="radio" name="strategy" value="hybrid" checked> Hybrid</label>
    <label><input type="radio" name="strategy" value="bm25"> Keyword</label>
    <label><input type="radio" name="strategy" value="semantic"> Semantic</label>
  </fieldset>
  <fieldset class="filters">
    <legend>Filters</legend>
    <label>Channel <input name="channel" id="channel" placeholder="#general"></label>
    <label>Author <input name="author" id="author" placeholder="U123 or name"></label>
    <label>From <input name="from" id="from" type="date"></label>
    <label>To <input name="to" id="to" type="date"></label>
  </fieldset>
</form>
<p id="status" role="status" aria-live="polite"></p>
<ol id="results" aria-label="Results"></ol>
<nav class="pager" aria-label="Pages">
  <button type="button" id="prev" class="secondary" disabled>Previous page</button>
  <span id="page">Page 1</span>
  <button type="button" id="next" class="secondary" disabled>Next page</button>
</nav>
</main>
<script>${SEARCH_PAGE_SCRIPT}</script>
</body>
</html>
`;
}
