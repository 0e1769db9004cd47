/* Sentence similarity (only when the sentence-embedding model is served): the text box's
 * sentences go to /similarity, the matrix comes back as a heat table.
 * The page also works without this file: the form posts normally. */
(function () {
  "use strict";

  var message = document.getElementById("message");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = meta ? meta.getAttribute("content") : "";

  function showMessage(text) {
    message.textContent = text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
    message.className = "message error";
    message.hidden = !text;
  }

  /* ---- sentence similarity (only when the text model is served) -------------------- */

  var similarityForm = document.getElementById("similarity-form");
  if (similarityForm) {
    similarityForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var target = document.getElementById("similarity-result");
      target.classList.add("busy");
      fetch(similarityForm.action, {
        method: "POST",
        body: new FormData(similarityForm),
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
        credentials: "same-origin",
      })
        .then(function (response) { return response.json().then(function (b) { return [response.ok, b]; }); })
        .then(function (pair) {
          target.classList.remove("busy");
          if (!pair[0]) { showMessage(pair[1].error || "The comparison failed."); return; }
          showMessage("");
          renderSimilarity(target, pair[1]);
        })
        .catch(function () {
          target.classList.remove("busy");
          showMessage("The server cannot be reached. Is the app still running?");
        });
    });
  }

  function cell(tag, text, className) {
    var el = document.createElement(tag);
    el.textContent = text;
    if (className) el.className = className;
    return el;
  }

  function renderSimilarity(target, body) {
    var table = document.createElement("table");
    table.className = "sim-table";
    var head = document.createElement("tr");
    head.appendChild(cell("th", ""));
    body.sentences.forEach(function (_, i) { head.appendChild(cell("th", String(i + 1))); });
    table.appendChild(head);
    body.matrix.forEach(function (row, i) {
      var tr = document.createElement("tr");
      var th = cell("th", String(i + 1));
      th.title = body.sentences[i];
      tr.appendChild(th);
      row.forEach(function (v) {
        tr.appendChild(cell("td", v.toFixed(2), "heat-" + Math.round(Math.max(0, v) * 10)));
      });
      table.appendChild(tr);
    });
    var legend = document.createElement("ol");
    legend.className = "sim-legend";
    body.sentences.forEach(function (s) { legend.appendChild(cell("li", s)); });
    var note = cell("p", body.model + " v" + body.version + " · " + body.latency_ms.toFixed(1) + " ms", "muted");
    target.replaceChildren(table, legend, note);
  }

})();
