// Keeps the board live without a full reload: fetches the rows every few seconds and ticks the countdowns.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) return;
  var url = board.dataset.rowsUrl;
  var every = parseInt(board.dataset.refresh || "10", 10) * 1000;
  var lateWord = board.dataset.late, leftWord = board.dataset.left;

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
    if (busy()) return;
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) {
        if (response.redirected || !response.ok) throw new Error("board refresh " + response.status);
        return response.text();
      })
      .then(function (html) { if (!busy()) { board.innerHTML = html; tick(); } board.classList.remove("stale"); })
      .catch(function () { board.classList.add("stale"); });
  }

  setInterval(tick, 1000);
  setInterval(refresh, every);
})();
