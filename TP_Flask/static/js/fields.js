/* The page of any model that is not the digits canvas: a form built from the manifest
 * (one field per feature, a text box, or JSON rows) sent to /api/predict as JSON, and the
 * answer drawn by task: labels with probability bars, values, or the raw answer.
 * The page also works without this file: the form posts normally. */
(function () {
  "use strict";

  var form = document.getElementById("fields-form");
  var switcher = document.getElementById("model-name");
  if (switcher) {
    switcher.addEventListener("change", function () {
      window.location.search = "?model=" + encodeURIComponent(switcher.value);
    });
  }
  if (!form) return;

  var result = document.getElementById("fields-result");
  var message = document.getElementById("message");
  var versionSelect = document.getElementById("fields-version");
  var widget = form.dataset.widget;

  function showMessage(text) {
    message.textContent = text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
    message.className = "message error";
    message.hidden = !text;
  }

  function inputs() {
    if (widget === "form") {
      var row = [];
      var bad = null;
      form.querySelectorAll("input[data-feature]").forEach(function (input) {
        var v = Number(input.value);
        if (input.value.trim() === "" || !isFinite(v)) bad = bad || input.dataset.feature;
        row.push(v);
      });
      if (bad) throw new Error("give a number for " + bad);
      return [row];
    }
    if (widget === "text") {
      var lines = document.getElementById("fields-text").value.split("\n")
        .map(function (s) { return s.trim(); }).filter(Boolean);
      if (!lines.length) throw new Error("type at least one sentence");
      return lines;
    }
    try {
      return JSON.parse(document.getElementById("fields-json").value);
    } catch (e) {
      throw new Error("the rows are not valid JSON: e.g. [[1.0, 2.0, 3.0]]");
    }
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function render(body) {
    var parts = [];
    var list = el("ol", undefined, "answers");
    body.predictions.forEach(function (row) {
      var item = el("li");
      if (row.label !== undefined) {
        item.appendChild(el("span", row.label, "answer-label"));
        item.appendChild(el("span", (100 * row.probabilities[row.index]).toFixed(1) + " %", "muted"));
      } else if (row.value !== undefined) {
        item.appendChild(el("span", Number(row.value).toPrecision(4), "answer-label"));
      } else {
        item.appendChild(el("code", JSON.stringify(row)));
      }
      list.appendChild(item);
    });
    parts.push(list);
    var first = body.predictions[0];
    if (first && first.probabilities && body.labels) {
      var bars = el("div", undefined, "bars");
      bars.id = "fields-bars";
      window.Charts.probabilityBars(bars, body.labels, first.probabilities, first.index);
      parts.push(bars);
    }
    var facts = el("dl", undefined, "facts");
    facts.appendChild(el("dt", "Model"));
    facts.appendChild(el("dd", body.model + " v" + body.version + " (" + body.variant + ")"));
    facts.appendChild(el("dt", "Server-side latency"));
    facts.appendChild(el("dd", body.latency_ms.toFixed(2) + " ms"));
    parts.push(facts);
    result.classList.remove("empty");
    result.replaceChildren.apply(result, parts);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var choice = versionSelect.value.split("/");
    var body;
    try {
      body = { model: choice[0], version: Number(choice[1]), inputs: inputs() };
    } catch (e) {
      showMessage(e.message);
      return;
    }
    result.dataset.state = "busy";
    fetch("/api/predict", {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json().then(function (b) { return { ok: response.ok, status: response.status, body: b }; });
      })
      .then(function (answer) {
        result.dataset.answers = String(Number(result.dataset.answers || 0) + 1);
        if (!answer.ok) {
          result.dataset.state = "error";
          showMessage(answer.body.error || "The server answered " + answer.status + ".");
          return;
        }
        showMessage("");
        render(answer.body);
        result.dataset.state = "done";
      })
      .catch(function () {
        result.dataset.state = "error";
        showMessage("The server cannot be reached. Is the app still running?");
      });
  });
  result.dataset.state = "idle";
  result.dataset.answers = "0";
})();
