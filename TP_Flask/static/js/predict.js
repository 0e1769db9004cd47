/* The prediction page: a drawing pad (mouse, pen, touch; undo, clear), an upload with
 * drag and drop, the model selector, and the rendering of the answer.
 * The page also works without this file: the forms post normally. */
(function () {
  "use strict";

  var form = document.getElementById("predict-form");
  var pad = document.getElementById("pad");
  if (!form || !pad) return;  // the page of a model that is not the digits canvas
  var select = document.getElementById("model");
  var fileInput = document.getElementById("image");
  var dropzone = document.getElementById("dropzone");
  var preview = document.getElementById("preview");
  var message = document.getElementById("message");
  var result = document.getElementById("result");
  var csrfToken = document.querySelector('meta[name="csrf-token"]').getAttribute("content");

  // The page's pen: the benchmark's "page" writer draws with it. Any width reads about as
  // well, since the server brings the pen to the dataset's width (utils/preprocessing.py).
  var STROKE_WIDTH = 28;
  var lastInput = null;    // {blob, name, strokes}: re-sent when the model changes
  var predictTimer = null;
  var asked = 0;           // requests sent; an answer to an older one is stale

  function showMessage(text, kind) {
    message.textContent = text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
    message.className = "message " + (kind || "error");
    message.hidden = !text;
  }

  /* ---- drawing (the pad itself is pad.js, shared with the wide number pad) ----------- */

  var drawing = new window.DrawingPad(pad, {
    strokeWidth: STROKE_WIDTH,
    onStrokeStart: function () { window.clearTimeout(predictTimer); },  // not half a stroke
    onStrokeEnd: schedulePrediction,
  });

  document.getElementById("undo").addEventListener("click", function () {
    drawing.undo();
    if (drawing.strokeCount()) schedulePrediction();
  });
  document.getElementById("clear").addEventListener("click", function () {
    drawing.clear();
    showMessage("");
  });
  document.getElementById("read-drawing").addEventListener("click", function () {
    sendDrawing();
  });

  function schedulePrediction() {
    window.clearTimeout(predictTimer);
    predictTimer = window.setTimeout(sendDrawing, 250);
  }

  function sendDrawing() {
    window.clearTimeout(predictTimer);
    var strokes = drawing.strokeCount();
    drawing.toBlob(function (blob) {
      lastInput = { blob: blob, name: "drawing.png", strokes: strokes };
      predict(lastInput);
    });
  }

  /* ---- upload -------------------------------------------------------------------- */

  preview.addEventListener("error", function () { preview.hidden = true; });  // not an image

  var maxUploadBytes = Number(form.dataset.maxUploadBytes) || Infinity;

  function useFile(file) {
    if (!file) return;
    if (file.size > maxUploadBytes) {
      // Refused here: a server that answers 413 before reading the body may just drop the
      // connection, and the browser would report "cannot reach the server" instead.
      showMessage("The file is " + (file.size / 1048576).toFixed(1) + " MB, over the " +
        (maxUploadBytes / 1048576).toFixed(1) + " MB limit: send a smaller image.");
      result.dataset.state = "error";
      result.dataset.answers = String(Number(result.dataset.answers || 0) + 1);
      return;
    }
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
    lastInput = { blob: file, name: file.name || "upload" };
    predict(lastInput);
  }

  fileInput.addEventListener("change", function () { useFile(fileInput.files[0]); });
  ["dragenter", "dragover"].forEach(function (name) {
    dropzone.addEventListener(name, function (event) {
      event.preventDefault();
      dropzone.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    dropzone.addEventListener(name, function () { dropzone.classList.remove("over"); });
  });
  dropzone.addEventListener("drop", function (event) {
    event.preventDefault();
    var files = event.dataTransfer && event.dataTransfer.files;
    if (files && files.length) useFile(files[0]);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = fileInput.files[0];
    if (file) useFile(file);
    else predict({ blob: new Blob([], { type: "application/octet-stream" }), name: "" });
  });

  select.addEventListener("change", function () {
    if (lastInput) predict(lastInput);
  });

  /* ---- asking the server and showing the answer ------------------------------------ */

  function predict(input) {
    var data = new FormData();
    data.append("csrf_token", csrfToken);
    data.append("model", select.value);
    data.append("image", input.blob, input.name);
    var ticket = ++asked;
    result.dataset.state = "busy";
    result.classList.add("busy");
    fetch(form.action, {
      method: "POST",
      body: data,
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json().then(
          function (body) { return { ok: response.ok, status: response.status, body: body }; },
          function () { return { ok: false, status: response.status, body: {} }; }
        );
      })
      .then(function (answer) {
        if (ticket !== asked) return;  // a newer drawing or model was asked for since
        result.classList.remove("busy");
        result.dataset.answers = String(Number(result.dataset.answers || 0) + 1);
        result.dataset.strokes = String(input.strokes || 0);  // which drawing this answers
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
        if (ticket !== asked) return;
        result.classList.remove("busy");
        result.dataset.answers = String(Number(result.dataset.answers || 0) + 1);
        result.dataset.state = "error";
        showMessage("The server cannot be reached. Is the app still running?");
      });
  }

  function render(body) {
    var p = body.predictions[0];
    result.classList.remove("empty");
    document.getElementById("label").textContent = p.label;
    document.getElementById("confidence").textContent =
      (100 * p.probabilities[p.index]).toFixed(1) + " % sure";
    var cells = [];
    p.pixels.forEach(function (row) {
      row.forEach(function (v) {
        var cell = document.createElement("span");
        cell.className = "ink-" + Math.round(Math.max(0, Math.min(1, v)) * 10);
        cells.push(cell);
      });
    });
    document.getElementById("pixels").replaceChildren.apply(document.getElementById("pixels"), cells);
    window.Charts.probabilityBars(document.getElementById("bars"), body.labels, p.probabilities, p.index);
    document.getElementById("model-used").textContent =
      body.model + " v" + body.version + " (" + body.variant + ")";
    document.getElementById("latency").textContent =
      body.latency_ms.toFixed(2) + " ms (inference " + body.inference_ms.toFixed(3) + " ms)";
  }

  result.dataset.state = "idle";
  result.dataset.answers = "0";
})();
