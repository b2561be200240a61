/* A screen's image table (pages/_image_table.html): loads index.json, then one shard of rows per page;
   a filter looks its value up in values.json and loads only the shards that hold it. Cells are set as
   text, never as HTML. */
(function () {
  "use strict";
  var PAGE = 50;

  function setUp(box) {
    var indexUrl = box.getAttribute("data-oia-image-table");
    var base = indexUrl.replace(/index\.json$/, "");
    var body = box.querySelector("tbody");
    var status = box.querySelector("[data-oia-table-status]");
    var label = box.querySelector("[data-oia-page-label]");
    var select = box.querySelector("[data-oia-filter-column]");
    var input = box.querySelector("[data-oia-filter-value]");
    var shown = Array.prototype.map.call(box.querySelectorAll("th[data-oia-column]"), function (th) {
      return th.getAttribute("data-oia-column");
    });
    var index = null, values = null, positions = [], shardCache = {};
    var rows = null;  // the filtered rows, or null for the whole table
    var page = 0;

    function getJson(url) {
      return fetch(url).then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      });
    }
    function shard(n) {
      if (!shardCache[n]) shardCache[n] = getJson(base + index.shards[n]).then(function (d) { return d.rows; });
      return shardCache[n];
    }
    function total() { return rows ? rows.length : index.rows; }
    function pages() { return Math.max(1, Math.ceil(total() / PAGE)); }

    function draw(list) {
      body.textContent = "";
      list.forEach(function (row) {
        var tr = document.createElement("tr");
        positions.forEach(function (at) {
          var td = document.createElement("td");
          td.textContent = at < 0 ? "" : row[at].split("|").join(", ");
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      label.textContent = "Page " + (page + 1) + " of " + pages();
      status.textContent = total() + (rows ? " matching rows" : " rows");
    }
    function show() {
      var start = page * PAGE;
      if (rows) return draw(rows.slice(start, start + PAGE));
      var first = Math.floor(start / index.shard_rows), last = Math.floor((start + PAGE - 1) / index.shard_rows);
      var wanted = [];
      for (var n = first; n <= last && n < index.shards.length; n++) wanted.push(shard(n));
      Promise.all(wanted).then(function (parts) {
        var all = [].concat.apply([], parts), offset = start - first * index.shard_rows;
        draw(all.slice(offset, offset + PAGE));
      });
    }
    function filter() {
      var column = select.value, value = input.value.trim().toLowerCase();
      if (!value) { rows = null; page = 0; return show(); }
      (values ? Promise.resolve(values) : getJson(base + index.values).then(function (v) { return (values = v); }))
        .then(function (all) {
          var byValue = all[column] || {}, hits = {}, keys = Object.keys(byValue), at = index.columns
            .map(function (c) { return c.name; }).indexOf(column);
          var matching = keys.filter(function (k) { return k.toLowerCase() === value; });
          matching.forEach(function (k) { byValue[k].forEach(function (n) { hits[n] = true; }); });
          return Promise.all(Object.keys(hits).map(Number).sort(function (a, b) { return a - b; }).map(shard))
            .then(function (parts) {
              rows = [].concat.apply([], parts).filter(function (row) {
                return row[at].toLowerCase().split("|").indexOf(value) >= 0;
              });
              page = 0;
              show();
            });
        });
    }

    getJson(indexUrl).then(function (doc) {
      index = doc;
      var names = doc.columns.map(function (c) { return c.name; });
      positions = shown.map(function (name) { return names.indexOf(name); });
      doc.filters.forEach(function (name) {
        var option = document.createElement("option");
        option.value = name;
        option.textContent = name;
        select.appendChild(option);
      });
      box.hidden = false;
      show();
    }).catch(function (error) { status.textContent = "The table could not be loaded (" + error.message + ")."; });

    box.querySelector("[data-oia-filter-apply]").addEventListener("click", filter);
    input.addEventListener("keydown", function (e) { if (e.key === "Enter") filter(); });
    box.querySelector("[data-oia-filter-clear]").addEventListener("click", function () {
      input.value = ""; rows = null; page = 0; show();
    });
    box.querySelector("[data-oia-page='prev']").addEventListener("click", function () {
      if (page > 0) { page--; show(); }
    });
    box.querySelector("[data-oia-page='next']").addEventListener("click", function () {
      if (page < pages() - 1) { page++; show(); }
    });
  }

  document.querySelectorAll("[data-oia-image-table]").forEach(setUp);
})();
