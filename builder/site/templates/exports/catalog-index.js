/* Expands the catalog's compact search index into the serialised form that
   lunr.Index.load() takes:  lunr.Index.load(expandCatalogIndex(json)).
   The format is described in builder/search_index.py; expand_index() there is
   the same function in Python. The compact file keeps each (term, field,
   document, score) once; lunr's own form repeats every posting in an inverted
   index, which is rebuilt here. */
(function (global) {
  "use strict";

  // The index keeps no term metadata; lunr only reads (copies) these objects,
  // so one shared empty object serves every posting and saves an allocation each.
  var NO_METADATA = {};

  function expandCatalogIndex(compact) {
    // lunr's own serialised form passes through unchanged.
    if (compact && compact.invertedIndex && compact.fieldVectors && compact.format === undefined) return compact;
    if (!compact || compact.format !== "oia-lunr-compact" || compact.format_version !== 1) {
      throw new Error("not a compact catalog index of a known version");
    }
    var fields = compact.fields;
    var postings = compact.terms.map(function (term, i) {
      var posting = { _index: i };
      fields.forEach(function (field) { posting[field] = {}; });
      return [term, posting];
    });
    var fieldVectors = [];
    fields.forEach(function (field) {
      compact.vectors[field].forEach(function (packed, doc) {
        var ref = String(doc);
        var elements = new Array(packed.length);
        var index = 0;
        for (var j = 0; j < packed.length; j += 2) {
          index += packed[j];
          elements[j] = index;
          elements[j + 1] = packed[j + 1];
          postings[index][1][field][ref] = NO_METADATA;
        }
        fieldVectors.push([field + "/" + ref, elements]);
      });
    });
    // lunr builds its token set from the inverted index and needs it in
    // JavaScript string order.
    postings.sort(function (a, b) { return a[0] < b[0] ? -1 : (a[0] > b[0] ? 1 : 0); });
    return {
      version: compact.version,
      fields: fields,
      fieldVectors: fieldVectors,
      invertedIndex: postings,
      pipeline: compact.pipeline
    };
  }

  global.expandCatalogIndex = expandCatalogIndex;
  if (typeof module !== "undefined" && module.exports) module.exports = expandCatalogIndex;
})(typeof window !== "undefined" ? window : globalThis);
