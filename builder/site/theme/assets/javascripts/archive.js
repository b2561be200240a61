/* Small enhancements on every page: copy buttons for data addresses and
   citations, and citation downloads. Without JavaScript the values stay
   selectable text and a download link opens the study's API document. */
(function () {
  "use strict";

  function copy(text, button) {
    function done(ok) {
      var label = button.getAttribute("data-label") || button.textContent;
      button.setAttribute("data-label", label);
      button.textContent = ok ? "Copied" : "Press Ctrl+C";
      setTimeout(function () { button.textContent = label; }, 1600);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
    } else {
      done(false);
    }
  }

  // The theme's search box covers the guides and help pages only (studies
  // have the catalog search); say so, so nobody looks for a study there.
  var themeSearch = document.querySelector(".md-search__input");
  if (themeSearch) {
    themeSearch.placeholder = "Search the guides";
    themeSearch.setAttribute("aria-label", "Search the guides and help pages");
  }

  // A citation download: the study's API document holds every format
  // (citation_formats); the chosen one is saved as a file of its own.
  function download(link) {
    return fetch(link.href).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (doc) {
      var value = doc.citation_formats[link.getAttribute("data-oia-cite")];
      if (value === undefined) throw new Error("no such citation format");
      var text = typeof value === "string" ? value : JSON.stringify(value, null, 2) + "\n";
      var url = URL.createObjectURL(new Blob([text], { type: link.type || "text/plain" }));
      var save = document.createElement("a");
      save.href = url;
      save.download = link.getAttribute("data-oia-file");
      document.body.appendChild(save);
      save.click();
      save.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    });
  }

  document.addEventListener("click", function (event) {
    var cite = event.target.closest("a[data-oia-cite]");
    // Ctrl-, Cmd-, Shift- and middle-clicks keep their meaning (open the document in a new tab or window).
    if (cite && !(event.metaKey || event.ctrlKey || event.shiftKey || event.altKey || event.button !== 0)) {
      event.preventDefault();
      download(cite).catch(function () { window.location.href = cite.href; });
      return;
    }
    if (cite) return;
    var button = event.target.closest("[data-copy-target], [data-copy-text-of]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy-target") || button.getAttribute("data-copy-text-of"));
    if (!field) return;
    if (field.select) field.select();
    copy(field.value !== undefined && field.tagName === "INPUT" ? field.value : field.textContent.trim(), button);
  });
})();
