// Live SLA countdowns, and a queue that refreshes itself (no third-party code).
(function () {
  "use strict";
  var skew = 0;

  function format(ms) {
    var late = ms < 0, s = Math.floor(Math.abs(ms) / 1000);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var text = (h ? h + "h " : "") + m + "m " + (h ? "" : sec + "s");
    return late ? "overdue " + text : text;
  }

  function tick() {
    var now = Date.now() + skew;
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var ms = Date.parse(el.dataset.due) - now;
      el.textContent = format(ms);
      el.classList.toggle("overdue", ms < 0);
    });
  }

  function refresh(table) {
    fetch(table.dataset.source, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        skew = Date.parse(data.now) - Date.now();
        // Reload only when the set of tasks, their order, state or priority changed.
        var known = Array.prototype.map.call(table.querySelectorAll("tr[data-task]"), function (tr) {
          return tr.dataset.task + ":" + tr.dataset.state + ":" + tr.dataset.priority;
        }).join(",");
        var fresh = data.callbacks.map(function (t) {
          return t.id + ":" + t.state + ":" + t.priority;
        }).join(",");
        if (known !== fresh) { window.location.reload(); }
      })
      .catch(function () {});
  }

  document.addEventListener("DOMContentLoaded", function () {
    var table = document.getElementById("queue");
    if (table && table.dataset.now) { skew = Date.parse(table.dataset.now) - Date.now(); }
    tick();
    setInterval(tick, 1000);
    if (table) { setInterval(function () { refresh(table); }, 5000); }
  });
})();
