// Store staff: the report form's goods, people and vehicles lines added and removed in
// place, and its D2P eligibility updated as the form fills. The form works without this
// file: "Add" and "Remove" then send the form back with a line more or less, and the
// reasons show when the page is drawn.
"use strict";

(function () {
  var form = document.getElementById("report-form");
  if (!form) {
    return;
  }

  function section(kind) {
    return form.querySelector('[data-lines="' + kind + '"]');
  }

  function rows(kind) {
    return Array.prototype.filter.call(section(kind).children, function (el) {
      return el.classList.contains("line");
    });
  }

  // The server reads lines 0..count-1: after a removal the lines after it move up one.
  function renumber(kind) {
    var pattern = new RegExp("\\b" + kind + "-\\d+-", "g");
    var lines = rows(kind);
    lines.forEach(function (line, k) {
      line.querySelectorAll("[id],[name],[for],[aria-describedby]").forEach(function (el) {
        ["id", "name", "for", "aria-describedby"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value) {
            el.setAttribute(attr, value.replace(pattern, kind + "-" + k + "-"));
          }
        });
      });
      var legend = line.querySelector("legend");
      legend.textContent = legend.textContent.replace(/\d+$/, String(k + 1));
      var remove = line.querySelector('button[value^="remove-"]');
      remove.value = "remove-" + kind + "-" + k;
      remove.textContent = remove.textContent.replace(/\d+$/, String(k + 1));
    });
    section(kind).querySelector('input[name="' + kind + '_count"]').value = String(lines.length);
    var add = section(kind).querySelector('button[value="add-' + kind + '"]');
    add.textContent = lines.length ? add.getAttribute("data-more") : add.getAttribute("data-first");
  }

  function addLine(kind) {
    var template = section(kind).querySelector('template[data-line-template="' + kind + '"]');
    var k = rows(kind).length;
    var add = section(kind).querySelector('button[value="add-' + kind + '"]');
    if (k >= parseInt(add.getAttribute("data-max"), 10)) {
      return;
    }
    var html = template.innerHTML.replace(/__i__/g, String(k)).replace(/__n__/g, String(k + 1));
    template.insertAdjacentHTML("beforebegin", html);
    renumber(kind);
    var first = rows(kind)[k].querySelector("input, select, textarea");
    if (first) {
      first.focus();
    }
  }

  function removeLine(kind, index) {
    var line = rows(kind)[index];
    if (!line) {
      return;
    }
    line.parentNode.removeChild(line);
    renumber(kind);
    var left = rows(kind);
    var focus = left.length ? left[Math.min(index, left.length - 1)].querySelector("input, select, textarea") : null;
    (focus || section(kind).querySelector('button[value="add-' + kind + '"]')).focus();
    form.dispatchEvent(new Event("change"));
  }

  form.addEventListener("click", function (event) {
    var button = event.target.closest("button[name=action]");
    if (!button) {
      return;
    }
    var found = /^(add|remove)-(goods|person|vehicle)(?:-(\d+))?$/.exec(button.value);
    if (!found) {
      return;
    }
    event.preventDefault();
    if (found[1] === "add") {
      addLine(found[2]);
    } else {
      removeLine(found[2], parseInt(found[3], 10));
    }
  });
})();

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
      // Signed out meanwhile: the answer is a redirect to sign-in, never swapped into the form.
      redirect: "manual",
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

  // Each check counts against the person's write budget (it is a POST): one per pause in typing.
  function soon() {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 600);
  }

  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
})();
