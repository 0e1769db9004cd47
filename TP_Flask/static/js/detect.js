/* The page of a detector: write a whole number on the wide pad (pad.js) or upload a
 * picture of one; the answer's boxes are drawn over the picture that was sent, in its own
 * pixels (an SVG whose viewBox is the picture's size), and the number read is shown.
 * The page also works without this file: the form posts normally. */
(function () {
  "use strict";

  var form = document.getElementById("detect-form");
  var canvas = document.getElementById("number-pad");
  if (!form || !canvas) return;  // the page of a model that is not a detector
  var select = document.getElementById("detect-model");
  var fileInput = document.getElementById("number-image");
  var dropzone = document.getElementById("number-dropzone");
  var pictureStage = document.getElementById("picture-stage");
  var preview = document.getElementById("number-preview");
  var padBoxes = document.getElementById("pad-boxes");
  var pictureBoxes = document.getElementById("picture-boxes");
  var message = document.getElementById("message");
  var result = document.getElementById("number-result");
  var csrfToken = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var maxUploadBytes = Number(form.dataset.maxUploadBytes) || Infinity;
  var SVG = "http://www.w3.org/2000/svg";

  // A digit on the 280 px high pad is about 150-200 px tall: a pen of 18 px keeps the
  // proportions of the digits canvas (28 px for ~200 px digits on 280x280).
  var STROKE_WIDTH = 18;
  var lastInput = null;  // {blob, name, strokes, boxes}: re-sent when the version changes
  var timer = null;
  var asked = 0;         // requests sent; an answer to an older one is stale

  function showMessage(text) {
    message.textContent = text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
    message.className = "message error";
    message.hidden = !text;
  }

  function clearBoxes(svg) { svg.replaceChildren(); }

  var drawing = new window.DrawingPad(canvas, {
    strokeWidth: STROKE_WIDTH,
    onStrokeStart: function () {
      window.clearTimeout(timer);
      clearBoxes(padBoxes);  // the boxes were for the drawing before this stroke
    },
    onStrokeEnd: function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(sendDrawing, 400);  // a pause: the next digit may follow
    },
  });

  function sendDrawing() {
    window.clearTimeout(timer);
    var strokes = drawing.strokeCount();
    drawing.toBlob(function (blob) {
      lastInput = { blob: blob, name: "number.png", strokes: strokes, boxes: padBoxes };
      ask(lastInput);
    });
  }

  document.getElementById("number-undo").addEventListener("click", function () {
    drawing.undo();
    clearBoxes(padBoxes);
    if (drawing.strokeCount()) sendDrawing();
  });
  document.getElementById("number-clear").addEventListener("click", function () {
    drawing.clear();
    clearBoxes(padBoxes);
    showMessage("");
  });
  document.getElementById("read-number").addEventListener("click", sendDrawing);

  /* ---- a picture ------------------------------------------------------------------- */

  function usePicture(file) {
    if (!file) return;
    if (file.size > maxUploadBytes) {
      showMessage("The file is " + (file.size / 1048576).toFixed(1) + " MB, over the " +
        (maxUploadBytes / 1048576).toFixed(1) + " MB limit: send a smaller image.");
      result.dataset.state = "error";
      return;
    }
    if (preview.src) URL.revokeObjectURL(preview.src);
    clearBoxes(pictureBoxes);
    preview.src = URL.createObjectURL(file);
    pictureStage.hidden = false;
    lastInput = { blob: file, name: file.name || "upload", strokes: 0, boxes: pictureBoxes };
    ask(lastInput);
  }

  preview.addEventListener("error", function () { pictureStage.hidden = true; });  // not an image
  fileInput.addEventListener("change", function () { usePicture(fileInput.files[0]); });
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
    if (files && files.length) usePicture(files[0]);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (fileInput.files[0]) usePicture(fileInput.files[0]);
    else sendDrawing();
  });
  select.addEventListener("change", function () { if (lastInput) ask(lastInput); });

  /* ---- asking the server and drawing the answer -------------------------------------- */

  function ask(input) {
    var ticket = ++asked;
    var data = new FormData();
    data.append("csrf_token", csrfToken);
    data.append("model", select.value);
    data.append("image", input.blob, input.name);
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
        if (ticket !== asked) return;  // a newer drawing, picture or version was asked for
        settle(input, answer.ok ? "done" : "error");
        if (!answer.ok) {
          showMessage(answer.body.error || "The server answered " + answer.status + ".");
          return;
        }
        showMessage("");
        render(answer.body, input.boxes);
      })
      .catch(function () {
        if (ticket !== asked) return;
        settle(input, "error");
        showMessage("The server cannot be reached. Is the app still running?");
      });
  }

  function settle(input, state) {
    result.classList.remove("busy");
    result.dataset.answers = String(Number(result.dataset.answers || 0) + 1);
    result.dataset.strokes = String(input.strokes);  // which drawing this answers
    result.dataset.state = state;
  }

  function render(body, svg) {
    result.classList.remove("empty");
    var empty = document.getElementById("number-empty");
    if (empty) empty.hidden = true;
    document.getElementById("number-text").textContent = body.text || "nothing found";
    var items = body.detections.map(function (d) {
      var item = document.createElement("li");
      var label = document.createElement("span");
      label.className = "answer-label";
      label.textContent = d.label;
      item.append(label, " score " + d.score.toFixed(2) + " · box [" + d.box.join(", ") + "]");
      return item;
    });
    var list = document.getElementById("number-detections");
    list.replaceChildren.apply(list, items);
    drawBoxes(svg, body);
    document.getElementById("number-model-used").textContent =
      body.model + " v" + body.version + " (" + body.variant + ")";
    document.getElementById("number-latency").textContent =
      body.latency_ms.toFixed(2) + " ms (inference " + body.inference_ms.toFixed(3) + " ms)";
  }

  function drawBoxes(svg, body) {
    var width = body.image_size.width;
    var height = body.image_size.height;
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    var shapes = [];
    body.detections.forEach(function (d) {
      var rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", d.box[0]);
      rect.setAttribute("y", d.box[1]);
      rect.setAttribute("width", Math.max(0, d.box[2] - d.box[0]));
      rect.setAttribute("height", Math.max(0, d.box[3] - d.box[1]));
      rect.setAttribute("data-label", d.label);
      var text = document.createElementNS(SVG, "text");
      text.setAttribute("x", d.box[0] + 4);
      text.setAttribute("y", Math.max(d.box[1] - 4, height * 0.09));
      text.setAttribute("font-size", Math.round(height * 0.09));
      text.textContent = d.label + " " + d.score.toFixed(2);
      shapes.push(rect, text);
    });
    svg.replaceChildren.apply(svg, shapes);
  }

  result.dataset.state = "idle";
  result.dataset.answers = "0";
})();
