// dpsweep HTML report: the findings table. The findings are embedded once as
// compact JSON (see data.go); this script filters and sorts them in memory
// and draws one page of rows at a time, writing every value with
// textContent. The filter lives in location.hash (#status=FAIL&account=…),
// so a filtered view is a link, and the charts link into the table.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("dps-data").textContent);
  var rows = D.rows;
  // Row positions, as in data.go.
  var STATUS = 0, SEV = 1, CTL = 2, ACCT = 3, REGION = 4, PREFIX = 5, SUFFIX = 6,
    TYPE = 7, FIELD = 8, SUMM = 9, REASON = 10, SUPP = 11, TEXT = 12, ENT = 13;
  var STATUS_NAMES = ["UNKNOWN", "PASS", "FAIL", "NOT_ASSESSED"];
  var STATUS_LABELS = { UNKNOWN: "Unknown", PASS: "Pass", FAIL: "Fail", NOT_ASSESSED: "Not assessed" };
  var STATUS_RANK = [3, 2, 0, 1];
  var SEV_NAMES = ["UNSPECIFIED", "INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"];
  var SEV_LABELS = ["Unspecified", "Informational", "Low", "Medium", "High", "Critical"];
  var REASONS = ["", "access denied", "region not enabled", "collector error", "role could not be assumed",
    "no FIPS endpoint in the region", "sweep cancelled", "data missing from the inventory"];
  var FILTERS = ["status", "severity", "control", "account", "region", "suppressed", "q"];

  var table = document.getElementById("findings-table");
  var tbody = document.getElementById("rows");
  var form = document.getElementById("filters");
  var countEl = document.getElementById("count");
  var pageInfo = document.getElementById("pageinfo");
  var prevBtn = document.getElementById("prev");
  var nextBtn = document.getElementById("next");
  var PAGE = parseInt(table.getAttribute("data-page-size"), 10) || 100;

  var controlIndex = {}, regionIndex = {};
  D.controls.forEach(function (c, i) { controlIndex[c[0]] = i; });
  D.regions.forEach(function (r, i) { regionIndex[r] = i; });

  var F = {}, page = 1, sort = { key: "", dir: 1 }, matches = [], hay = null;

  function group(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
  function at(r, i) { return r.length > i ? r[i] : 0; }
  function arnOf(r) {
    var p = D.prefixes[r[PREFIX]], s = p[1];
    if (p[0]) { s = s.split("{R}").join(D.regions[r[REGION]]).split("{A}").join(D.accounts[r[ACCT]]); }
    return s + r[SUFFIX];
  }
  function haystack(i) {
    if (!hay) { hay = new Array(rows.length); }
    var h = hay[i];
    if (h === undefined) {
      var r = rows[i], c = D.controls[r[CTL]];
      h = [c[0], c[1], D.accounts[r[ACCT]], D.regions[r[REGION]], arnOf(r), D.types[r[TYPE]], D.fields[r[FIELD]],
        D.summaries[r[SUMM]], D.texts[at(r, TEXT)], D.entities[at(r, ENT)].join(" "), REASONS[at(r, REASON)] || ""]
        .join("\n").toLowerCase();
      hay[i] = h;
    }
    return h;
  }

  function compute() {
    var st = F.status ? STATUS_NAMES.indexOf(F.status) : -1;
    var sv = F.severity ? SEV_NAMES.indexOf(F.severity) : -1;
    var ct = -1, rg = -1, acct = null;
    if (F.control) { ct = controlIndex.hasOwnProperty(F.control) ? controlIndex[F.control] : -2; }
    if (F.region) { rg = regionIndex.hasOwnProperty(F.region) ? regionIndex[F.region] : -2; }
    if (F.account) {
      var want = F.account.trim();
      acct = new Uint8Array(D.accounts.length);
      D.accounts.forEach(function (a, i) { if (a.lastIndexOf(want, 0) === 0) { acct[i] = 1; } });
    }
    var terms = (F.q || "").toLowerCase().split(/\s+/).filter(Boolean);
    var out = [];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (st >= 0 && r[STATUS] !== st) { continue; }
      if (sv >= 0 && r[SEV] !== sv) { continue; }
      if (ct !== -1 && r[CTL] !== ct) { continue; }
      if (rg !== -1 && r[REGION] !== rg) { continue; }
      if (acct && !acct[r[ACCT]]) { continue; }
      if (F.suppressed) {
        var sp = at(r, SUPP) > 0;
        if ((F.suppressed === "hide" && sp) || (F.suppressed === "only" && !sp)) { continue; }
      }
      if (terms.length) {
        var h = haystack(i), ok = true;
        for (var t = 0; t < terms.length && ok; t++) { ok = h.indexOf(terms[t]) >= 0; }
        if (!ok) { continue; }
      }
      out.push(i);
    }
    matches = sortRows(out);
  }

  var SORT_KEYS = {
    status: function (r) { return STATUS_RANK[r[STATUS]]; },
    severity: function (r) { return -r[SEV]; },
    control: function (r) { return r[CTL]; },
    account: function (r) { return r[ACCT] * 4096 + r[REGION]; },
    resource: arnOf
  };
  function sortRows(idx) {
    var key = SORT_KEYS[sort.key];
    if (!key) { return idx; }
    var keys = idx.map(function (i) { return key(rows[i]); });
    var order = idx.map(function (_, k) { return k; });
    var dir = sort.dir;
    order.sort(function (a, b) {
      var x = keys[a], y = keys[b];
      return (x < y ? -dir : x > y ? dir : 0) || a - b;
    });
    return order.map(function (k) { return idx[k]; });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function rowEl(i) {
    var r = rows[i], status = STATUS_NAMES[r[STATUS]] || "UNKNOWN", c = D.controls[r[CTL]];
    var tr = el("tr", "row");
    tr.setAttribute("data-status", status);

    var td = el("td");
    td.appendChild(el("span", "badge s-" + status, STATUS_LABELS[status]));
    var reason = REASONS[at(r, REASON)];
    if (reason) { td.appendChild(el("span", "note", reason)); }
    var sp = at(r, SUPP);
    if (sp > 0) {
      var s = D.suppressions[sp - 1];
      td.appendChild(el("br"));
      td.appendChild(el("span", "badge supp", "Suppressed"));
      td.appendChild(el("span", "note", (s[0] ? s[0] + ": " : "") + s[1] + (s[2] ? " (until " + s[2] + ")" : "")));
    }
    tr.appendChild(td);

    tr.appendChild(el("td", "sev " + SEV_NAMES[r[SEV]], SEV_LABELS[r[SEV]]));

    td = el("td");
    td.appendChild(el("div", "mono", c[0]));
    td.appendChild(el("div", "ctitle", c[1]));
    tr.appendChild(td);

    td = el("td");
    td.appendChild(el("div", "mono", D.accounts[r[ACCT]]));
    td.appendChild(el("div", "rtype", D.regions[r[REGION]]));
    tr.appendChild(td);

    td = el("td", "res");
    td.appendChild(el("div", "mono", arnOf(r)));
    var meta = D.types[r[TYPE]];
    if (meta) { td.appendChild(el("div", "rtype", meta)); }
    var field = D.fields[r[FIELD]];
    if (field) { td.appendChild(el("div", "fpath", field)); }
    tr.appendChild(td);

    td = el("td", "ev");
    var summ = D.summaries[r[SUMM]];
    if (summ) { td.appendChild(el("div", "", summ)); }
    var text = D.texts[at(r, TEXT)];
    if (text) { td.appendChild(el("code", "", text)); }
    D.entities[at(r, ENT)].forEach(function (e) { td.appendChild(el("span", "ent", e)); });
    tr.appendChild(td);
    return tr;
  }

  function render() {
    var n = matches.length, pages = Math.max(1, Math.ceil(n / PAGE));
    page = Math.min(Math.max(1, page), pages);
    var start = (page - 1) * PAGE, end = Math.min(n, start + PAGE);
    var frag = document.createDocumentFragment();
    for (var k = start; k < end; k++) { frag.appendChild(rowEl(matches[k])); }
    tbody.textContent = "";
    tbody.appendChild(frag);
    if (n === 0) {
      var tr = el("tr"), td = el("td", "empty", "No findings match the filter.");
      td.colSpan = 6;
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
    var filtered = FILTERS.some(function (f) { return F[f]; });
    countEl.textContent = n === 0 ? "No matching findings" :
      "Showing " + group(start + 1) + "–" + group(end) + " of " + group(n) +
      (filtered ? " matching findings (" + group(rows.length) + " in the table)" : " findings");
    pageInfo.textContent = "Page " + group(page) + " of " + group(pages);
    prevBtn.disabled = page <= 1;
    nextBtn.disabled = page >= pages;
    table.setAttribute("data-matches", String(n));
    table.setAttribute("data-page", String(page));
    Array.prototype.forEach.call(table.querySelectorAll("th[data-sort]"), function (th) {
      var k = th.getAttribute("data-sort");
      th.setAttribute("aria-sort", k === sort.key ? (sort.dir > 0 ? "ascending" : "descending") : "none");
    });
  }

  function syncForm() {
    FILTERS.forEach(function (f) { form.elements[f].value = F[f] || ""; });
  }
  function readForm() {
    FILTERS.forEach(function (f) { F[f] = form.elements[f].value; });
  }
  function readHash() {
    var h = location.hash.replace(/^#/, "");
    if (h.indexOf("=") < 0) { return false; }
    var p = new URLSearchParams(h);
    FILTERS.forEach(function (f) { F[f] = p.get(f) || ""; });
    page = parseInt(p.get("page"), 10) || 1;
    var s = p.get("sort") || "";
    sort = { key: s.replace(/^-/, ""), dir: s.charAt(0) === "-" ? -1 : 1 };
    return true;
  }
  function writeHash() {
    var p = new URLSearchParams();
    FILTERS.forEach(function (f) { if (F[f]) { p.set(f, F[f]); } });
    if (sort.key) { p.set("sort", (sort.dir < 0 ? "-" : "") + sort.key); }
    if (page > 1) { p.set("page", String(page)); }
    var s = p.toString();
    try {
      history.replaceState(null, "", s ? "#" + s : location.pathname + location.search);
    } catch (e) { /* some file:// contexts refuse; the filter still applies */ }
  }
  function update(resetPage) {
    if (resetPage) { page = 1; }
    compute();
    render();
    writeHash();
  }

  function option(value, label) {
    var o = document.createElement("option");
    o.value = value;
    o.textContent = label;
    return o;
  }
  D.controls.forEach(function (c) {
    var title = c[1].length > 48 ? c[1].slice(0, 47) + "…" : c[1];
    form.elements.control.appendChild(option(c[0], c[0] + (title ? " — " + title : "")));
  });
  D.regions.forEach(function (r) { form.elements.region.appendChild(option(r, r)); });

  var timer = 0;
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  form.addEventListener("change", function () { readForm(); update(true); });
  form.addEventListener("input", function (e) {
    if (e.target.tagName !== "INPUT") { return; }
    clearTimeout(timer);
    timer = setTimeout(function () { readForm(); update(true); }, 200);
  });
  document.getElementById("reset").addEventListener("click", function () {
    F = {};
    sort = { key: "", dir: 1 };
    syncForm();
    update(true);
  });
  prevBtn.addEventListener("click", function () { page--; render(); writeHash(); });
  nextBtn.addEventListener("click", function () { page++; render(); writeHash(); });
  Array.prototype.forEach.call(table.querySelectorAll("th[data-sort]"), function (th) {
    th.tabIndex = 0;
    function toggle() {
      var k = th.getAttribute("data-sort");
      if (sort.key === k) { sort.dir = -sort.dir; } else { sort = { key: k, dir: 1 }; }
      update(true);
    }
    th.addEventListener("click", toggle);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); } });
  });
  window.addEventListener("hashchange", function () {
    if (readHash()) {
      syncForm();
      compute();
      render();
      document.getElementById("findings").scrollIntoView();
    }
  });

  readHash();
  syncForm();
  compute();
  render();
  table.setAttribute("data-ready-ms", String(Math.round(performance.now())));
  document.documentElement.setAttribute("data-ready", "true");
})();
