// Keeps the board live without a reload: the board stream (server-sent events) says when tickets changed and
// the board then fetches its rows again; while the stream is down it re-reads every few seconds instead.
// The countdowns tick here every second.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) return;
  var rowsUrl = board.dataset.rowsUrl, streamUrl = board.dataset.streamUrl;
  var every = parseInt(board.dataset.refresh || "10", 10) * 1000;
  var lateWord = board.dataset.late, leftWord = board.dataset.left;
  // The folded group shown in full (?trade=&ward=), kept across refreshes.
  var unfolded = window.location.search.indexOf("trade=") >= 0 ? window.location.search : "";
  var source = null, live = false, inFlight = false, again = false;

  function fmt(seconds) {
    seconds = Math.abs(Math.round(seconds));
    if (seconds < 60) return seconds + " s";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h " + String(Math.floor((seconds % 3600) / 60)).padStart(2, "0") + " min";
    return Math.floor(seconds / 86400) + " d " + Math.floor((seconds % 86400) / 3600) + " h";
  }

  function tick() {
    var now = Date.now();
    board.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var left = (Date.parse(el.dataset.due) - now) / 1000;
      el.textContent = fmt(left) + " " + (left < 0 ? lateWord : leftWord);
      el.classList.toggle("late", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 300);
    });
  }

  function busy() {
    // Do not pull the form out from under a dispatcher who is choosing a technician.
    var active = document.activeElement;
    return active && board.contains(active) && (active.tagName === "SELECT" || active.tagName === "INPUT");
  }

  function refresh() {
    // One fetch at a time; changes that arrive meanwhile (or while a form is in use) fetch once more after.
    if (inFlight || busy()) { again = true; return; }
    inFlight = true; again = false;
    fetch(rowsUrl + unfolded, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) {
        if (response.redirected || !response.ok) throw new Error("board refresh " + response.status);
        return response.text();
      })
      .then(function (html) {
        if (busy()) { again = true; } else { board.innerHTML = html; tick(); }
        board.classList.remove("stale");
        if (!source) connect();
      })
      .catch(function () { board.classList.add("stale"); })
      .then(function () { inFlight = false; if (again && !busy()) refresh(); });
  }

  function token() {
    var holder = board.querySelector("[data-stream-token]");
    return holder ? holder.dataset.streamToken : "";
  }

  function connect() {
    if (!window.EventSource || !streamUrl || !token()) return;
    source = new EventSource(streamUrl + (streamUrl.indexOf("?") < 0 ? "?" : "&") + "token=" + encodeURIComponent(token()));
    source.addEventListener("ready", function () {
      live = true;
      board.classList.add("live");
      refresh();  // what changed while the stream was being opened
    });
    source.addEventListener("change", refresh);
    source.addEventListener("expired", function () { drop(); refresh(); });  // the next rows bring a new token
    source.onerror = function () {
      live = false;
      board.classList.remove("live");
      // Closed for good (refused, or the stream process is gone): re-read every few seconds and, after the
      // next re-read, try the stream again with its token. Otherwise the browser reconnects by itself.
      if (source && source.readyState === EventSource.CLOSED) source = null;
    };
  }

  function drop() {
    if (source) source.close();
    source = null; live = false;
    board.classList.remove("live");
  }

  board.addEventListener("click", function (event) {
    var link = event.target.closest("a.unfold, a.fold");
    if (!link) return;
    event.preventDefault();
    unfolded = link.classList.contains("unfold") ? "?trade=" + link.dataset.trade + "&ward=" + link.dataset.ward : "";
    window.history.replaceState(null, "", link.getAttribute("href"));
    refresh();
  });
  board.addEventListener("focusout", function () { if (again) window.setTimeout(refresh, 0); });

  setInterval(tick, 1000);
  setInterval(function () { if (!live) refresh(); }, every);
  connect();
})();
