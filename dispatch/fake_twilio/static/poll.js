/* Fake Twilio phone page: redraw the live part when the fake's state changes.
   The element #live names a JSON endpoint answering {"version": n, "html": "..."}. */
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.fetch) { return; }
  var url = live.getAttribute("data-poll-url");
  var version = live.getAttribute("data-version");
  var stickToBottom = live.getAttribute("data-scroll") === "bottom";

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
  }
  function typingInside() {
    var el = document.activeElement;
    return el && el.tagName === "INPUT" && live.contains(el) && el.value !== "";
  }
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || String(data.version) === version || typingInside()) { return; }
        var follow = stickToBottom && nearBottom();
        version = String(data.version);
        live.innerHTML = data.html;
        if (follow) { window.scrollTo(0, document.body.scrollHeight); }
      })
      .catch(function () { /* the fake was restarted; try again next time */ })
      .then(function () { window.setTimeout(poll, 2000); });
  }
  if (stickToBottom) { window.scrollTo(0, document.body.scrollHeight); }
  window.setTimeout(poll, 2000);
}());
