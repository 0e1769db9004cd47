/* A series model's panel: read a CSV series (pasted, uploaded or the CO2 sample), send it
 * to every series model the page lists (the one shown first), and draw the history, the
 * forecast past the end and the flagged points in one SVG chart.
 *
 * The data plane slices a flat series into its windows of W points (stride 1); answer i
 * is about the window ending at point W - 1 + i. A forecaster gets the last W points (one
 * forecast past the end); an anomaly model gets the series in pieces of at most its batch
 * limit of windows, overlapping by W - 1 points, so every point from the W-th on is judged.
 * The page also works without this file: the form posts the CSV. */
(function () {
  "use strict";

  var form = document.getElementById("series-form");
  if (!form) return;
  var models = JSON.parse(form.dataset.models || "[]");
  var input = document.getElementById("series-input");
  var result = document.getElementById("series-result");
  var chart = document.getElementById("series-chart");
  var facts = document.getElementById("series-facts");
  var message = document.getElementById("message");
  var versionSelect = document.getElementById("series-version");
  var SVG = "http://www.w3.org/2000/svg";
  var COLORS = { history: "#3b5bdb", forecast: "#f08c00", flag: "#c92a2a", grid: "#e3e8f2", text: "#667085" };

  function showMessage(text) {
    message.textContent = text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
    message.className = "message error";
    message.hidden = !text;
  }

  /* Same rules as series_from_csv (utils/deployment_helpers/tasks/series.py). */
  function parseCsv(text) {
    var values = [];
    var dates = [];
    var lines = text.split(/\r?\n/);
    var first = true;
    for (var n = 0; n < lines.length; n++) {
      var line = lines[n].trim();
      if (!line) continue;
      var cells = line.split(/[,;\t]/);
      var cell = cells[cells.length - 1].trim();
      var value = cell === "" ? NaN : Number(cell);
      if (isNaN(value) && !/^[+-]?(nan|inf(inity)?)$/i.test(cell) && first && !values.length) {
        first = false;
        continue;  // a header
      }
      first = false;
      if (!isFinite(value)) {
        throw new Error("line " + (n + 1) + " of the series has no finite number (" +
          JSON.stringify(cell.slice(0, 20)) + "): give one value a line, or date,value lines, with no gaps");
      }
      values.push(value);
      dates.push(cells.length > 1 ? cells[0].trim() : String(values.length - 1));
    }
    if (!values.length) throw new Error("the series is empty: paste one value a line, or date,value lines");
    return { values: values, dates: dates };
  }

  function post(model, version, inputs) {
    return fetch("/api/predict", {
      method: "POST",
      body: JSON.stringify({ model: model, version: version, inputs: inputs }),
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body.error || "the server answered " + response.status);
        return body;
      });
    });
  }

  /* One model's answers: {forecast: [...]} or {scores: {index: score}, flags: [indices]}. */
  function run(model, version, values) {
    var w = model.window;
    if (values.length < w) {
      return Promise.reject(new Error(model.name + " needs at least " + w + " values; the series has " + values.length));
    }
    if (model.task === "forecasting") {
      return post(model.name, version, values.slice(values.length - w)).then(function (body) {
        return { model: model, body: body, forecast: body.predictions[0].forecast };
      });
    }
    var out = { model: model, flags: [], scores: {}, judged: 0, body: null };
    var perRequest = Math.max(1, model.max_windows || 64);
    var chain = Promise.resolve();
    for (var end = w - 1; end < values.length; end += perRequest) {
      (function (firstEnd) {
        var lastEnd = Math.min(firstEnd + perRequest, values.length) - 1;
        chain = chain.then(function () {
          return post(model.name, version, values.slice(firstEnd - w + 1, lastEnd + 1)).then(function (body) {
            out.body = body;
            body.predictions.forEach(function (row, i) {
              var index = firstEnd + i;
              out.judged += 1;
              if (row.score !== undefined) out.scores[index] = row.score;
              if (row.is_anomaly) out.flags.push(index);
            });
          });
        });
      })(end);
    }
    return chain.then(function () { return out; });
  }

  function svg(name, attributes, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function draw(series, forecast, flags) {
    var width = 720, height = 320;
    var box = { left: 56, top: 28, right: width - 14, bottom: height - 34 };
    var total = series.values.length + (forecast ? forecast.length : 0);
    var all = series.values.concat(forecast || []);
    var lo = Math.min.apply(null, all), hi = Math.max.apply(null, all);
    var pad = (hi - lo) * 0.08 || 1;
    lo -= pad; hi += pad;
    function x(i) { return box.left + (total > 1 ? i / (total - 1) : 0) * (box.right - box.left); }
    function y(v) { return box.bottom - ((v - lo) / (hi - lo)) * (box.bottom - box.top); }
    var root = svg("svg", { viewBox: "0 0 " + width + " " + height, role: "img",
      "aria-label": "The series, its forecast and the flagged points" });
    for (var t = 0; t <= 4; t++) {
      var v = lo + ((hi - lo) * t) / 4;
      root.appendChild(svg("line", { x1: box.left, x2: box.right, y1: y(v), y2: y(v), stroke: COLORS.grid }));
      root.appendChild(svg("text", { x: box.left - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11,
        fill: COLORS.text }, v.toFixed(1)));
    }
    root.appendChild(svg("text", { x: box.left, y: height - 10, "font-size": 11, fill: COLORS.text }, series.dates[0]));
    root.appendChild(svg("text", { x: x(series.values.length - 1), y: height - 10, "text-anchor": "end",
      "font-size": 11, fill: COLORS.text }, series.dates[series.dates.length - 1]));
    var points = series.values.map(function (value, i) { return x(i).toFixed(1) + "," + y(value).toFixed(1); });
    root.appendChild(svg("polyline", { "class": "history", points: points.join(" "), fill: "none",
      stroke: COLORS.history, "stroke-width": 1.6 }));
    if (forecast) {
      var last = series.values.length - 1;
      var ahead = [x(last).toFixed(1) + "," + y(series.values[last]).toFixed(1)].concat(
        forecast.map(function (value, k) { return x(last + 1 + k).toFixed(1) + "," + y(value).toFixed(1); }));
      root.appendChild(svg("polyline", { "class": "forecast", points: ahead.join(" "), fill: "none",
        stroke: COLORS.forecast, "stroke-width": 2.2, "stroke-dasharray": "5 3",
        "data-values": forecast.map(function (value) { return value.toFixed(3); }).join(" ") }));
      root.appendChild(svg("line", { x1: x(last), x2: x(last), y1: box.top, y2: box.bottom,
        stroke: COLORS.grid, "stroke-dasharray": "3 3" }));  // where the series ends
      forecast.forEach(function (value, k) {
        root.appendChild(svg("circle", { cx: x(last + 1 + k), cy: y(value), r: 2.5, fill: COLORS.forecast }));
      });
    }
    flags.forEach(function (i) {
      root.appendChild(svg("circle", { "class": "flag", cx: x(i), cy: y(series.values[i]), r: 4.5,
        fill: "none", stroke: COLORS.flag, "stroke-width": 2, "data-index": i,
        "data-date": series.dates[i] }));
    });
    var legend = [["history", COLORS.history], ["forecast", COLORS.forecast], ["flagged", COLORS.flag]];
    legend.forEach(function (entry, k) {
      root.appendChild(svg("rect", { x: box.left + k * 110, y: 8, width: 12, height: 8, fill: entry[1] }));
      root.appendChild(svg("text", { x: box.left + k * 110 + 16, y: 16, "font-size": 12, fill: COLORS.text }, entry[0]));
    });
    chart.replaceChildren(root);
  }

  function el(tag, text) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function describe(series, answers, problems) {
    var list = el("dl");
    list.className = "facts";
    answers.forEach(function (answer) {
      var m = answer.model;
      list.appendChild(el("dt", m.name + " v" + answer.body.version));
      if (answer.forecast) {
        list.appendChild(el("dd", "next " + answer.forecast.length + ": " +
          answer.forecast.map(function (v) { return v.toFixed(2); }).join(", ")));
      } else {
        var dates = answer.flags.map(function (i) { return series.dates[i]; });
        list.appendChild(el("dd", answer.flags.length + " flagged of " + answer.judged + " judged" +
          (dates.length ? ": " + dates.slice(0, 8).join(", ") + (dates.length > 8 ? "…" : "") : "")));
      }
    });
    problems.forEach(function (p) { list.appendChild(el("dt", p[0])); list.appendChild(el("dd", p[1])); });
    facts.replaceChildren(list);
  }

  document.getElementById("series-sample").addEventListener("click", function () {
    fetch(form.dataset.sample, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (text) { input.value = text; showMessage(""); })
      .catch(function () { showMessage("The sample cannot be loaded. Is the app still running?"); });
  });

  document.getElementById("series-file").addEventListener("change", function (event) {
    var file = event.target.files[0];
    if (!file) return;
    file.text().then(function (text) { input.value = text; showMessage(""); });
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var series;
    try {
      series = parseCsv(input.value);
    } catch (e) {
      showMessage(e.message);
      return;
    }
    var choice = versionSelect.value.split("/");
    result.dataset.state = "busy";
    var answers = [];
    var problems = [];
    var chain = Promise.resolve();
    models.forEach(function (model, k) {
      var version = k === 0 ? Number(choice[1]) : model.version;
      chain = chain.then(function () {
        return run(model, version, series.values).then(
          function (answer) { answers.push(answer); },
          function (error) {
            if (k === 0) throw error;  // the model of the page: its refusal is the answer
            problems.push([model.name, error.message]);
          });
      });
    });
    chain.then(function () {
      var forecast = null;
      var flags = [];
      answers.forEach(function (a) {
        if (a.forecast) forecast = a.forecast;
        else flags = flags.concat(a.flags);
      });
      showMessage("");
      draw(series, forecast, flags);
      describe(series, answers, problems);
      result.classList.remove("empty");
      result.dataset.flagged = String(flags.length);
      result.dataset.state = "done";
    }).catch(function (error) {
      result.dataset.state = "error";
      showMessage(error.message || "The server cannot be reached. Is the app still running?");
    });
  });
})();
