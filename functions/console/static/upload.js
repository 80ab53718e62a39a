// Evidence upload through the API's resumable upload routes, with a progress bar per
// file, that carries on after a dropped connection from the offset the server holds.
// The session cookie authenticates; writes carry the page's CSRF token in X-CSRF-Token.
"use strict";

(function () {
  var CHUNK = 1024 * 1024;
  var MAX_WAIT_MS = 30000;
  var API = "/api/v1";

  var box = document.querySelector("[data-upload]");
  if (!box || !window.fetch || !window.Blob) {
    return;
  }
  box.hidden = false;
  // The plain form sends one file in one request (capped); this page sends any size in parts.
  var fallback = document.querySelector("[data-upload-fallback]");
  if (fallback) {
    fallback.hidden = true;
  }
  var input = box.querySelector("input[type=file]");
  var kind = box.querySelector("select");
  var start = box.querySelector("[data-upload-start]");
  var list = box.querySelector("[data-upload-list]");
  var done = box.querySelector("[data-upload-done]");
  // Progress is on each bar; only a file's start and end are announced, not every chunk.
  var status = box.querySelector("[data-upload-status]");

  function announce(text) {
    if (status) {
      status.textContent = text;
    }
  }
  var incident = box.getAttribute("data-incident");

  var TYPES = { jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", webp: "image/webp", heic: "image/heic", mp4: "video/mp4", mov: "video/quicktime" };

  function typeOf(file) {
    if (file.type) {
      return file.type;
    }
    var ext = (file.name.split(".").pop() || "").toLowerCase();
    return TYPES[ext] || "application/octet-stream";
  }

  function headers(extra) {
    var h = { "X-CSRF-Token": window.vigilCsrfToken() };
    for (var k in extra) {
      h[k] = extra[k];
    }
    return h;
  }

  function problem(answer) {
    return answer.json().then(
      function (body) {
        var error = new Error(body.detail || body.title || "The upload was refused (" + answer.status + ").");
        error.status = answer.status;
        return Promise.reject(error);
      },
      function () {
        var error = new Error("The upload was refused (" + answer.status + ").");
        error.status = answer.status;
        return Promise.reject(error);
      }
    );
  }

  function wait(ms) {
    return new Promise(function (resolve) {
      window.setTimeout(resolve, ms);
    });
  }

  // Where a session stands on the server: the offset to carry on from.
  function received(session) {
    return fetch(API + "/evidence/uploads/" + encodeURIComponent(session.id), { credentials: "same-origin", cache: "no-store" }).then(
      function (answer) {
        return answer.ok ? answer.json().then(function (s) { return s.received; }) : problem(answer);
      }
    );
  }

  // A file chosen again after a reload resumes its earlier session (same name, size, date).
  function memoryKey(file) {
    return "vigil-upload:" + incident + ":" + file.name + ":" + file.size + ":" + file.lastModified;
  }

  function open(file, chosenKind) {
    var remembered = null;
    try {
      remembered = JSON.parse(window.sessionStorage.getItem(memoryKey(file)) || "null");
    } catch (e) {
      remembered = null;
    }
    if (remembered) {
      return received(remembered).then(
        function () { return remembered; },
        function () { return create(file, chosenKind); }
      );
    }
    return create(file, chosenKind);
  }

  function create(file, chosenKind) {
    return fetch(API + "/incidents/" + encodeURIComponent(incident) + "/evidence/uploads", {
      method: "POST",
      credentials: "same-origin",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({ filename: file.name || "photo.jpg", content_type: typeOf(file), size: file.size, kind: chosenKind })
    }).then(function (answer) {
      if (!answer.ok) {
        return problem(answer);
      }
      return answer.json().then(function (session) {
        try {
          window.sessionStorage.setItem(memoryKey(file), JSON.stringify({ id: session.id, chunks_url: session.chunks_url, commit_url: session.commit_url }));
        } catch (e) {
          // Private browsing: no resume after a reload, but a dropped connection still resumes.
        }
        return session;
      });
    });
  }

  function send(file, session, offset, bar, note, tries) {
    bar.value = offset;
    if (offset >= file.size) {
      return Promise.resolve();
    }
    // Never more than the stamp says one chunk may carry (its host buffers each chunk).
    var end = Math.min(offset + Math.min(CHUNK, session.max_chunk_bytes || CHUNK), file.size);
    return fetch(session.chunks_url, {
      method: "PUT",
      credentials: "same-origin",
      headers: headers({ "Content-Type": "application/octet-stream", "Content-Range": "bytes " + offset + "-" + (end - 1) + "/" + file.size }),
      body: file.slice(offset, end)
    })
      .then(function (answer) {
        if (answer.ok) {
          return answer.json().then(function (s) {
            note.textContent = Math.round((100 * s.received) / file.size) + "% sent";
            return send(file, session, s.received, bar, note, 0);
          });
        }
        if (answer.status === 409 || answer.status >= 500 || answer.status === 429) {
          return Promise.reject(new Error("retry"));
        }
        return problem(answer);
      })
      .catch(function (error) {
        if (error.status && error.status !== 409) {
          throw error;
        }
        // A dropped connection (or an offset out of step): wait, ask the server what it
        // holds, and carry on from there.
        var delay = Math.min(1000 * Math.pow(2, tries), MAX_WAIT_MS);
        note.textContent = "Connection lost: trying again…";
        return wait(delay)
          .then(function () { return received(session); })
          .then(
            function (at) { return send(file, session, at, bar, note, 0); },
            function (e) {
              if (e.status) {
                throw e;
              }
              return send(file, session, offset, bar, note, tries + 1);
            }
          );
      });
  }

  function commit(file, session) {
    return fetch(session.commit_url, { method: "POST", credentials: "same-origin", headers: headers({}) }).then(function (answer) {
      if (!answer.ok) {
        return problem(answer);
      }
      try {
        window.sessionStorage.removeItem(memoryKey(file));
      } catch (e) {
        // nothing remembered
      }
      return answer.json();
    });
  }

  function uploadOne(file, chosenKind) {
    var item = document.createElement("li");
    var label = document.createElement("label");
    var bar = document.createElement("progress");
    var note = document.createElement("span");
    var id = "upload-" + Math.random().toString(36).slice(2);
    bar.id = id;
    bar.max = file.size || 1;
    bar.value = 0;
    label.setAttribute("for", id);
    label.textContent = file.name || "photo";
    note.className = "hint";
    note.textContent = "Starting…";
    item.appendChild(label);
    item.appendChild(bar);
    item.appendChild(note);
    list.appendChild(item);
    announce("Uploading " + label.textContent + ".");
    return open(file, chosenKind)
      .then(function (session) {
        return received(session).then(function (at) {
          return send(file, session, at, bar, note, 0).then(function () { return commit(file, session); });
        });
      })
      .then(function () {
        bar.value = bar.max;
        note.textContent = "Uploaded.";
        announce(label.textContent + " uploaded.");
        return true;
      })
      .catch(function (error) {
        note.textContent = "Not uploaded: " + error.message;
        announce(label.textContent + " was not uploaded: " + error.message);
        return false;
      });
  }

  start.addEventListener("click", function () {
    var files = Array.prototype.slice.call(input.files || []);
    if (!files.length) {
      input.focus();
      return;
    }
    start.disabled = true;
    var chosenKind = kind.value;
    files
      .reduce(function (chain, file) {
        return chain.then(function (results) {
          return uploadOne(file, chosenKind).then(function (ok) { return results.concat([ok]); });
        });
      }, Promise.resolve([]))
      .then(function () {
        start.disabled = false;
        input.value = "";
        done.hidden = false;
      });
  });
})();
