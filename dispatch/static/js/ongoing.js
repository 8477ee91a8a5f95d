// Report form: when the nurse picks what has failed, say at once if it is already being worked on in
// her building, and let her add to that ticket instead of filing the same fault again.
(function () {
  "use strict";
  var box = document.getElementById("ongoing");
  var commentForm = document.getElementById("ongoing-form");
  if (!box || !commentForm) return;
  var url = box.dataset.url;

  function ward() {
    var select = document.querySelector("select[name=ward_id]");
    var hidden = document.querySelector("input[name=ward_id]");
    return (select && select.value) || (hidden && hidden.value) || "";
  }

  function check() {
    var picked = document.querySelector("input[name=trade_id]:checked");
    if (!picked) { box.hidden = true; return; }
    var query = "?trade_id=" + encodeURIComponent(picked.value) + "&ward_id=" + encodeURIComponent(ward());
    fetch(url + query, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { incident: null }; })
      .then(function (data) {
        if (!data.incident) { box.hidden = true; return; }
        box.querySelector(".ongoing-message").textContent = data.message;
        box.querySelector(".ongoing-hint").textContent = data.hint;
        commentForm.action = data.comment_url;
        box.hidden = false;
      })
      .catch(function () { box.hidden = true; });
  }

  document.querySelectorAll("input[name=trade_id], select[name=ward_id]").forEach(function (el) {
    el.addEventListener("change", check);
  });
  check();
})();
