/* A text classifier's panel (sentiment): the sentences of the box, one a line, go to
 * /api/predict as JSON; each comes back with its label and class probabilities, drawn as
 * SVG bars (Charts.probabilityBars). The page also works without this file. */
(function () {
  "use strict";

  var form = document.getElementById("text-form");
  if (!form) return;
  var result = document.getElementById("text-result");
  var message = document.getElementById("message");
  var versionSelect = document.getElementById("text-version");

  function showMessage(text) {
    message.textContent = text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
    message.className = "message error";
    message.hidden = !text;
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function render(body, sentences) {
    var list = el("ol", undefined, "answers sentiment-answers");
    body.predictions.forEach(function (row, i) {
      var item = el("li");
      item.dataset.label = row.label;
      item.appendChild(el("span", row.label, "answer-label"));
      item.appendChild(el("span", sentences[i], "sentence"));
      var bars = el("div", undefined, "bars");
      window.Charts.probabilityBars(bars, body.labels, row.probabilities, row.index);
      item.appendChild(bars);
      list.appendChild(item);
    });
    var facts = el("dl", undefined, "facts");
    facts.appendChild(el("dt", "Model"));
    facts.appendChild(el("dd", body.model + " v" + body.version + " (" + body.variant + ")"));
    facts.appendChild(el("dt", "Server-side latency"));
    facts.appendChild(el("dd", body.latency_ms.toFixed(2) + " ms"));
    result.classList.remove("empty");
    result.replaceChildren(list, facts);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var sentences = document.getElementById("text-input").value.split("\n")
      .map(function (s) { return s.trim(); }).filter(Boolean);
    if (!sentences.length) {
      showMessage("type at least one sentence");
      return;
    }
    var choice = versionSelect.value.split("/");
    result.dataset.state = "busy";
    fetch("/api/predict", {
      method: "POST",
      body: JSON.stringify({ model: choice[0], version: Number(choice[1]), inputs: sentences }),
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json().then(function (b) { return { ok: response.ok, status: response.status, body: b }; });
      })
      .then(function (answer) {
        if (!answer.ok) {
          result.dataset.state = "error";
          showMessage(answer.body.error || "The server answered " + answer.status + ".");
          return;
        }
        showMessage("");
        render(answer.body, sentences);
        result.dataset.state = "done";
      })
      .catch(function () {
        result.dataset.state = "error";
        showMessage("The server cannot be reached. Is the app still running?");
      });
  });
})();
