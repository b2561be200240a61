/* The catalog search page: a prebuilt lunr index and a metadata store (see
   builder/search_index.py for both formats), free text plus facet filters with
   live counts. The whole state lives in the URL (?query=...&organism=...&page=2; "q" belongs to Material's search),
   so searches can be shared and back/forward work. Record text is only ever
   put into the page with textContent, never as HTML. */
(function () {
  "use strict";

  var root = document.getElementById("oia-search");
  if (!root || typeof lunr === "undefined") return;

  var PER_PAGE = 20;
  var FACETS = ["organism", "imaging_method", "biological_scale", "data_type", "licence", "release_year"];
  var MULTI = { organism: true, imaging_method: true, biological_scale: true };

  var form = document.getElementById("oia-search-form");
  var input = document.getElementById("oia-search-q");
  var statusEl = document.getElementById("oia-search-status");
  var list = document.getElementById("oia-search-results");
  var pager = document.getElementById("oia-search-pages");
  var clearButton = document.getElementById("oia-search-clear");
  var siteRoot = root.getAttribute("data-site-root") || "./";
  var filters = document.getElementById("oia-search-filters");

  // On a phone the filters fold away, so the results come first.
  if (filters && window.matchMedia("(max-width: 59.9844em)").matches) filters.open = false;

  var index = null;
  var rows = [];        // one object per study, in catalog order
  var typingTimer = null;

  // ---------------------------------------------------------------- data

  function decodeStore(store) {
    var c = {};
    store.columns.forEach(function (name, i) { c[name] = i; });
    return store.studies.map(function (r, i) {
      function values(name) {
        var v = r[c[name]];
        var list = Array.isArray(v) ? v : (v === null || v === undefined ? [] : [v]);
        return list.map(function (k) { return store.facets[name][k]; });
      }
      var row = {
        ref: String(i),
        order: i,
        accession: r[c.accession],
        title: r[c.title],
        year: String(r[c.year]),
        thumbnail: r[c.thumbnail],
        summary: r[c.summary],
        url: r[c.url],
        labels: {},
        facets: {}
      };
      ["organism", "imaging_method", "biological_scale", "data_type", "licence"].forEach(function (name) {
        var pairs = values(name);
        row.facets[name] = pairs.map(function (p) { return p[0]; });
        row.labels[name] = pairs.map(function (p) { return p[1]; });
      });
      row.facets.release_year = [row.year];
      return row;
    });
  }

  // ---------------------------------------------------------------- state <-> URL

  function readState() {
    var params = new URLSearchParams(window.location.search);
    var state = { q: (params.get("query") || "").trim(), page: Math.max(1, parseInt(params.get("page") || "1", 10) || 1), filters: {} };
    FACETS.forEach(function (name) { state.filters[name] = params.getAll(name); });
    return state;
  }

  function stateFromForm() {
    var state = { q: input.value.trim(), page: 1, filters: {} };
    FACETS.forEach(function (name) {
      state.filters[name] = Array.prototype.map.call(
        root.querySelectorAll('input[type=checkbox][name="' + name + '"]:checked'),
        function (box) { return box.value; });
    });
    return state;
  }

  function stateToQuery(state) {
    var params = new URLSearchParams();
    if (state.q) params.set("query", state.q);
    FACETS.forEach(function (name) { state.filters[name].forEach(function (v) { params.append(name, v); }); });
    if (state.page > 1) params.set("page", String(state.page));
    var text = params.toString();
    return window.location.pathname + (text ? "?" + text : "");
  }

  function applyStateToForm(state) {
    input.value = state.q;
    FACETS.forEach(function (name) {
      root.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
        box.checked = state.filters[name].indexOf(box.value) !== -1;
      });
    });
  }

  // ---------------------------------------------------------------- text search

  var terms = []; // every indexed term, sorted, for prefix matching
  var accessionPrefix = compact(root.getAttribute("data-accession-prefix") || "");

  function compact(text) { return text.toUpperCase().replace(/[^A-Z0-9]/g, ""); }

  function firstTermFrom(prefix) {
    var lo = 0, hi = terms.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (terms[mid] < prefix) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  // Documents with a word starting with ``prefix``, straight from the inverted
  // index. lunr's own wildcard query scores every hit through its field
  // vectors: ~200 ms for a one-letter prefix at 10,000 studies. Counting
  // postings costs a few ms and ranks well enough next to exact-word scores.
  function prefixScores(prefix) {
    var out = {};
    for (var i = firstTermFrom(prefix); i < terms.length && terms[i].lastIndexOf(prefix, 0) === 0; i++) {
      var posting = index.invertedIndex[terms[i]];
      for (var f = 0; f < index.fields.length; f++) {
        var docs = posting[index.fields[f]];
        if (!docs) continue;
        for (var ref in docs) out[ref] = (out[ref] || 0) + 0.1;
      }
    }
    return out;
  }

  // "OIA-000123", "oia000123", "OIA-0001": accessions (or their starts) are
  // looked up directly, without the index.
  function accessionSearch(q) {
    var wanted = compact(q);
    if (!accessionPrefix || wanted.length <= accessionPrefix.length || wanted.lastIndexOf(accessionPrefix, 0) !== 0) return null;
    if (!/^\d+$/.test(wanted.slice(accessionPrefix.length))) return null;
    var scores = {};
    var found = false;
    rows.forEach(function (row) {
      if (row.compact.lastIndexOf(wanted, 0) === 0) {
        scores[row.ref] = row.compact === wanted ? 2 : 1;
        found = true;
      }
    });
    return found ? scores : null;
  }

  // Every word must match (as a word or as the start of one); scores add up.
  // lunr's query builder is used rather than its query parser, so characters
  // such as ":" "+" "~" in what people type are never query syntax.
  function textSearch(q) {
    var byAccessionScores = accessionSearch(q);
    if (byAccessionScores) return byAccessionScores;
    var tokens = lunr.tokenizer(q).map(function (t) { return t.toString(); }).filter(Boolean);
    var content = tokens.filter(function (t, i) { return i === tokens.length - 1 || lunr.stopWordFilter(t) !== undefined; });
    if (!content.length) return null;
    var scores = null;
    content.forEach(function (token) {
      var tokenScores = prefixScores(token);
      index.query(function (query) { query.term(token, { usePipeline: true }); }).forEach(function (hit) {
        tokenScores[hit.ref] = (tokenScores[hit.ref] || 0) + 10 * hit.score;
      });
      if (scores === null) { scores = tokenScores; return; }
      var next = {};
      for (var ref in tokenScores) if (scores[ref] !== undefined) next[ref] = scores[ref] + tokenScores[ref];
      scores = next;
    });
    return scores;
  }

  // ---------------------------------------------------------------- filtering and counting

  function matches(row, filters, skip) {
    for (var f = 0; f < FACETS.length; f++) {
      var name = FACETS[f];
      if (name === skip) continue;
      var wanted = filters[name];
      if (!wanted.length) continue;
      var have = row.facets[name];
      var ok = false;
      for (var i = 0; i < wanted.length && !ok; i++) ok = have.indexOf(wanted[i]) !== -1;
      if (!ok) return false;
    }
    return true;
  }

  function updateCounts(candidates, filters) {
    FACETS.forEach(function (name) {
      var counts = {};
      candidates.forEach(function (row) {
        if (!matches(row, filters, name)) return;
        row.facets[name].forEach(function (v) { counts[v] = (counts[v] || 0) + 1; });
      });
      root.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
        var n = counts[box.value] || 0;
        var item = box.closest("li");
        item.querySelector("[data-count]").textContent = n.toLocaleString("en");
        item.classList.toggle("oia-zero", n === 0 && !box.checked);
      });
    });
  }

  // ---------------------------------------------------------------- rendering

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function renderRow(row) {
    var li = el("li");
    var a = el("a", "oia-result");
    a.href = siteRoot + row.url;
    var media = el("div", "oia-result__media");
    if (row.thumbnail) {
      var img = el("img");
      img.src = siteRoot + row.thumbnail;
      img.alt = "Thumbnail of " + row.title;
      img.loading = "lazy";
      img.width = 96;
      img.height = 96;
      media.appendChild(img);
    } else {
      media.setAttribute("role", "img");
      media.setAttribute("aria-label", "No preview available");
      media.textContent = "No preview";
    }
    var body = el("div", "oia-result__body");
    body.appendChild(el("p", "oia-result__title", row.title));
    var meta = [row.accession, row.year].concat(row.labels.organism.slice(0, 2), row.labels.imaging_method.slice(0, 2));
    body.appendChild(el("p", "oia-result__meta", meta.join(" · ")));
    body.appendChild(el("p", "oia-result__summary", row.summary));
    a.appendChild(media);
    a.appendChild(body);
    li.appendChild(a);
    return li;
  }

  function renderPager(total, page) {
    var pages = Math.ceil(total / PER_PAGE);
    pager.textContent = "";
    pager.hidden = pages <= 1;
    if (pages <= 1) return;
    var ol = el("ol");
    for (var n = 1; n <= pages; n++) {
      if (n !== 1 && n !== pages && Math.abs(n - page) > 2) {
        if (Math.abs(n - page) === 3) ol.appendChild(el("li", null, "…"));
        continue;
      }
      var li = el("li");
      var b = el("button", null, String(n));
      b.type = "button";
      b.setAttribute("data-page", String(n));
      if (n === page) b.setAttribute("aria-current", "page");
      li.appendChild(b);
      ol.appendChild(li);
    }
    pager.appendChild(ol);
  }

  function describe(state, total) {
    var what = total === 1 ? "1 study" : total.toLocaleString("en") + " studies";
    var active = FACETS.reduce(function (n, name) { return n + state.filters[name].length; }, 0);
    var verb = total === 1 ? " matches" : " match";
    var text = what + (state.q ? verb + " \u201c" + state.q + "\u201d" : (active ? verb : " in the catalog"));
    if (active) text += (state.q ? " and " : " ") + active + " filter" + (active === 1 ? "" : "s");
    return text + ".";
  }

  function run(state) {
    var started = performance.now();
    var scores = state.q ? textSearch(state.q) : null;
    var candidates = rows;
    if (state.q) {
      candidates = scores === null ? [] : rows.filter(function (row) { return scores[row.ref] !== undefined; });
    }
    var results = candidates.filter(function (row) { return matches(row, state.filters, null); });
    if (scores) results.sort(function (a, b) { return (scores[b.ref] - scores[a.ref]) || (a.order - b.order); });
    updateCounts(candidates, state.filters);
    var pages = Math.max(1, Math.ceil(results.length / PER_PAGE));
    var page = Math.min(state.page, pages);
    list.textContent = "";
    var fragment = document.createDocumentFragment();
    results.slice((page - 1) * PER_PAGE, page * PER_PAGE).forEach(function (row) { fragment.appendChild(renderRow(row)); });
    list.appendChild(fragment);
    renderPager(results.length, page);
    statusEl.textContent = describe(state, results.length);
    var active = state.q || FACETS.some(function (name) { return state.filters[name].length; });
    clearButton.hidden = !active;
    root.setAttribute("data-search-ms", String(Math.round(performance.now() - started)));
    root.setAttribute("data-ready", "true");
  }

  // ---------------------------------------------------------------- events

  function commit(state, replace) {
    var url = stateToQuery(state);
    if (url !== window.location.pathname + window.location.search) {
      if (replace) history.replaceState(null, "", url); else history.pushState(null, "", url);
    }
    run(state);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearTimeout(typingTimer);
    commit(stateFromForm(), false);
  });

  // Live results while typing; the URL follows without filling the history.
  input.addEventListener("input", function () {
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { commit(stateFromForm(), true); }, 120);
  });

  root.addEventListener("change", function (event) {
    if (event.target.matches('input[type=checkbox]')) commit(stateFromForm(), false);
  });

  root.addEventListener("click", function (event) {
    var more = event.target.closest("[data-facet-more]");
    if (more) {
      var expanded = more.getAttribute("aria-expanded") === "true";
      more.closest("fieldset").querySelectorAll(".oia-facet__extra").forEach(function (li) { li.hidden = expanded; });
      more.setAttribute("aria-expanded", String(!expanded));
      more.textContent = expanded ? more.getAttribute("data-label") : "Show fewer";
      return;
    }
    var pageButton = event.target.closest("[data-page]");
    if (pageButton) {
      var state = stateFromForm();
      state.page = parseInt(pageButton.getAttribute("data-page"), 10);
      commit(state, false);
      statusEl.scrollIntoView({ block: "start" });
      return;
    }
    if (event.target === clearButton) {
      var empty = { q: "", page: 1, filters: {} };
      FACETS.forEach(function (name) { empty.filters[name] = []; });
      applyStateToForm(empty);
      commit(empty, false);
    }
  });

  window.addEventListener("popstate", function () {
    var state = readState();
    applyStateToForm(state);
    run(state);
  });

  // ---------------------------------------------------------------- start

  function load(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error(url + ": HTTP " + response.status);
      return response.json();
    });
  }

  Promise.all([load(root.getAttribute("data-index")), load(root.getAttribute("data-store"))])
    .then(function (data) {
      // The shipped index is compacted (builder/search_index.py); its decoder,
      // search/catalog-index.js, rebuilds lunr's own serialised form.
      var serialised = data[0].format === "oia-lunr-compact" ? window.expandCatalogIndex(data[0]) : data[0];
      index = lunr.Index.load(serialised);
      rows = decodeStore(data[1]);
      rows.forEach(function (row) { row.compact = compact(row.accession); });
      terms = Object.keys(index.invertedIndex).sort();
      var state = readState();
      applyStateToForm(state);
      run(state);
    })
    .catch(function (error) {
      if (window.console) console.error(error);
      statusEl.textContent = "The catalog search could not be loaded (" + error.message + "). Browse the catalog instead.";
      root.setAttribute("data-ready", "error");
    });
})();
