// Manager dashboard: small conveniences (the try-it page has dashboard-tryit.js).
(function () {
  "use strict";
  // A click anywhere on a flagged row opens the call, like its time link.
  document.querySelectorAll("table.flagged tbody tr").forEach(function (row) {
    const link = row.querySelector("a");
    if (!link) return;
    row.style.cursor = "pointer";
    row.addEventListener("click", function (event) {
      if (event.target.closest("a, button, input, select")) return;
      if (window.getSelection && String(window.getSelection())) return; // selecting text
      window.location.href = link.href;
    });
  });
})();
