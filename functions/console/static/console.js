// Vigil console: a few progressive enhancements. Every page works without this file.
"use strict";

document.addEventListener("click", function (event) {
  // "Go back" links: back in history when there is one, else their href.
  var back = event.target.closest("[data-back]");
  if (back && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
  // Buttons that ask before doing something that cannot be undone.
  var confirmable = event.target.closest("[data-confirm]");
  if (confirmable && !window.confirm(confirmable.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});

// The CSRF token for scripts that call the API with the session cookie.
window.vigilCsrfToken = function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute("content") : "";
};
