/* Small enhancements on every page: copy buttons for data addresses and
   citations. Without JavaScript the values stay selectable text. */
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

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target], [data-copy-text-of]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy-target") || button.getAttribute("data-copy-text-of"));
    if (!field) return;
    if (field.select) field.select();
    copy(field.value !== undefined && field.tagName === "INPUT" ? field.value : field.textContent.trim(), button);
  });
})();
