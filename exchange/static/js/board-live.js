// The public board's live auctions: counts down to each auction's end and polls the platform's own JSON endpoint
// every few seconds for the best price, the minimum next bid and the end time (which moves when a late bid
// extends the auction). No library, nothing from outside; without it the page still shows the figures as of
// loading and the end time.
(function () {
  "use strict";
  var boards = document.querySelectorAll("[data-live-board]");
  if (!boards.length || !window.fetch) { return; }
  var skew = 0; // server clock minus this clock, in milliseconds

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function left(board, ms) {
    if (ms <= 0) { return board.dataset.textClosed; }
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
    var text = d > 0 ? board.dataset.textLeft : board.dataset.textLeftShort;
    return text.replace("{d}", d).replace("{h}", pad(h)).replace("{m}", pad(Math.floor(s % 3600 / 60)))
      .replace("{s}", pad(s % 60));
  }

  function money(value, unit) {
    if (value === null || value === undefined) { return "—"; }
    var parts = Number(value).toFixed(2).split(".");
    return parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + parts[1] + (unit ? " " + unit : "");
  }

  function set(row, name, text) {
    var node = row.querySelector('[data-live="' + name + '"]');
    if (node && text !== null) { node.textContent = text; }
  }

  function each(board, fn) {
    var rows = board.querySelectorAll("[data-live-url]");
    for (var i = 0; i < rows.length; i++) { fn(rows[i]); }
  }

  function countdown(board) {
    each(board, function (row) {
      if (!row.dataset.endsAt || row.dataset.phase === "closed" || row.dataset.phase === "result") { return; }
      if (row.dataset.phase === "priority") { return; }
      set(row, "countdown", left(board, Date.parse(row.dataset.endsAt) - (Date.now() + skew)));
    });
  }

  function poll(board) {
    if (document.hidden) { return; }
    each(board, function (row) {
      fetch(row.dataset.liveUrl, { headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (live) {
          if (!live) { return; }
          skew = Date.parse(live.server_time) - Date.now();
          var unit = live.unit_label || "";
          row.dataset.phase = live.phase;
          if (live.ends_at) { row.dataset.endsAt = live.ends_at; }
          set(row, "best", live.best_price === null ? live.no_bid_label || "—" : money(live.best_price, unit));
          set(row, "minimum", live.phase === "bidding" ? money(live.minimum_bid, unit) : "—");
          set(row, "bids", String(live.bids));
          if (live.phase !== "bidding" && live.phase_label) { set(row, "countdown", live.phase_label); }
        })
        .catch(function () { /* offline for a moment: keep counting, try again at the next poll */ });
    });
  }

  for (var i = 0; i < boards.length; i++) {
    (function (board) {
      var seconds = Math.max(2, parseInt(board.dataset.pollSeconds || "5", 10));
      countdown(board);
      setInterval(function () { countdown(board); }, 1000);
      setInterval(function () { poll(board); }, seconds * 1000);
    })(boards[i]);
  }
}());
