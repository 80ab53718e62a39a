// Store staff: the report form's D2P eligibility, updated as the form fills.
// The form works without this file (the reasons then show when the page is drawn).
"use strict";

(function () {
  var form = document.getElementById("report-form");
  var region = document.getElementById("eligibility");
  if (!form || !region || !window.fetch) {
    return;
  }
  var url = form.getAttribute("data-eligibility-url");
  var timer = null;
  var latest = 0;

  function draft() {
    var fields = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (name !== "action" && typeof value === "string") {
        fields.append(name, value);
      }
    });
    return fields;
  }

  function check() {
    var mine = ++latest;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": window.vigilCsrfToken ? window.vigilCsrfToken() : "" },
      body: draft()
    })
      .then(function (answer) {
        return answer.ok ? answer.text() : null;
      })
      .then(function (html) {
        // Only the answer to the latest draft is shown: an older one may arrive last.
        if (html !== null && mine === latest && region.innerHTML.trim() !== html.trim()) {
          region.innerHTML = html;
        }
      })
      .catch(function () {
        // Offline in the stockroom: the reasons show again when the page is next drawn.
      });
  }

  function soon() {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 400);
  }

  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
})();
