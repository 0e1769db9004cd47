/* The monitoring page: poll /monitoring/stats and redraw the charts.
 * The server reads traffic, drift and accuracy from the prediction log (every worker);
 * CPU and memory are this worker's, their history kept here, one point per poll. */
(function () {
  "use strict";

  var tiles = document.getElementById("tiles");
  var pollMs = parseInt(tiles.dataset.pollMs, 10) || 2000;
  var HISTORY = 90;
  var history = { procCpu: [], machineCpu: [], rss: [], machineMem: [] };
  var statusEl = document.getElementById("status");
  var C = window.Charts;

  function push(list, value) {
    list.push(value);
    if (list.length > HISTORY) list.shift();
  }

  function text(id, value) { document.getElementById(id).textContent = value; }

  function update(s) {
    var sys = s.system;
    push(history.procCpu, sys.process_cpu_percent);
    push(history.machineCpu, sys.machine_cpu_percent);
    push(history.rss, sys.process_rss_bytes / 1048576);
    push(history.machineMem, sys.machine_memory_percent);

    text("tile-rps", s.requests_per_s.toFixed(2));
    text("tile-p50", s.latency_ms.p50.toFixed(2) + " ms");
    text("tile-p99", s.latency_ms.p99.toFixed(2) + " ms");
    text("tile-errors", (100 * s.error_rate).toFixed(1) + " %");
    text("tile-cpu", sys.process_cpu_percent.toFixed(1) + " %");
    text("tile-rss", (sys.process_rss_bytes / 1048576).toFixed(0) + " MB");
    text("totals", s.totals.requests + " requests, " + s.totals.errors + " errors");
    text("pid", String(sys.pid));
    document.getElementById("log-off").hidden = s.log;

    C.lineChart(document.getElementById("chart-rps"), {
      series: [
        { name: "requests/s", values: s.requests_per_s_series, color: C.PALETTE[0], fill: true },
        { name: "errors/s", values: s.errors_per_s_series, color: C.PALETTE[2] },
      ],
      xLabel: "last " + s.window_s + " s",
    });
    var bucketLabel = "last " + s.window_s + " s, " + s.bucket_s + " s per point (gaps: no traffic)";
    C.lineChart(document.getElementById("chart-latency"), {
      series: [
        { name: "p50", values: s.latency_series.p50, last: s.latency_ms.p50.toFixed(2) },
        { name: "p90", values: s.latency_series.p90, last: s.latency_ms.p90.toFixed(2) },
        { name: "p99", values: s.latency_series.p99, last: s.latency_ms.p99.toFixed(2) },
      ],
      minMax: 1,
      xLabel: bucketLabel,
    });
    var errorPercent = s.error_rate_series.map(function (v) { return v === null ? null : 100 * v; });
    var worst = Math.max.apply(null, errorPercent.map(function (v) { return v || 0; }));
    C.lineChart(document.getElementById("chart-errors"), {
      series: [{ name: "errors", values: errorPercent, color: C.PALETTE[2],
        last: (100 * s.error_rate).toFixed(1) + " % over the window" }],
      yMax: worst > 10 ? 100 : 10,
      unit: "%",
      xLabel: bucketLabel,
    });
    C.lineChart(document.getElementById("chart-cpu"), {
      series: [
        { name: "process (of 1 core)", values: history.procCpu, last: sys.process_cpu_percent.toFixed(0) + " %" },
        { name: "machine", values: history.machineCpu, color: C.PALETTE[3], last: sys.machine_cpu_percent.toFixed(0) + " %" },
      ],
      yMax: Math.max(100, Math.ceil(Math.max.apply(null, history.procCpu) / 100) * 100),
      unit: "%",
      xLabel: "one point per poll",
    });
    C.lineChart(document.getElementById("chart-memory"), {
      series: [
        { name: "process RSS (MB)", values: history.rss, fill: true, last: (sys.process_rss_bytes / 1048576).toFixed(0) },
        { name: "machine used (%)", values: history.machineMem, color: C.PALETTE[4], last: sys.machine_memory_percent.toFixed(0) },
      ],
      minMax: 100,
      xLabel: "one point per poll",
    });
    var models = Object.keys(s.predictions_per_model);
    C.barChart(document.getElementById("chart-models"), {
      labels: models,
      values: models.map(function (k) { return s.predictions_per_model[k]; }),
      empty: "no prediction yet: draw a digit on the Predict page",
    });
    var classes = Object.keys(s.class_counts).sort();
    C.barChart(document.getElementById("chart-classes"), {
      labels: classes,
      values: classes.map(function (k) { return s.class_counts[k]; }),
      color: C.PALETTE[1],
      empty: "no prediction yet",
    });
    var watched = s.watch.filter(function (w) { return w.drift; });
    var names = watched.map(function (w) { return w.model + " v" + w.version; });
    C.groupedBarChart(document.getElementById("chart-drift"), {
      groups: names,
      series: [
        { name: "inputs (share of features drifted)", color: C.PALETTE[5],
          values: watched.map(function (w) { return w.drift.inputs_drifted === null ? null : w.drift.inputs_score; }) },
        { name: "predictions (JS distance)", color: C.PALETTE[4],
          values: watched.map(function (w) { return w.drift.predictions_score; }) },
      ],
      dimmed: watched.map(function (w) { return w.drift.inputs_drifted === null; }),
      minMax: 1,
      thresholds: [
        { value: 0.5, label: "0.5 inputs drift", color: C.PALETTE[2] },
        { value: 0.1, label: "0.1 predictions", color: C.PALETTE[1] },
      ],
      empty: "no model with a reference profile",
    });
    var verdicts = watched.map(function (w) {
      var d = w.drift;
      if (d.inputs_drifted === null) return w.model + " v" + w.version + ": " + d.samples + "/" + d.min_samples + " rows, no verdict yet";
      var what = [];
      if (d.inputs_drifted) what.push("inputs");
      if (d.predictions_drifted) what.push("predictions");
      return w.model + " v" + w.version + ": " + (what.length ? "DRIFT in " + what.join(" and ") : "stable") + " (" + d.samples + " rows)";
    });
    text("drift-verdict", verdicts.length ? verdicts.join(" · ") : "no prediction yet");

    // Per-feature PSI of the model with the most traffic in its window (drifted first).
    var shown = watched.slice().sort(function (a, b) {
      return (b.drift.inputs_drifted ? 1 : 0) - (a.drift.inputs_drifted ? 1 : 0) || b.drift.samples - a.drift.samples;
    })[0];
    var features = shown && shown.drift.features.length ? shown.drift.features : [];
    text("feature-model", shown ? shown.model + " v" + shown.version : "-");
    C.barChart(document.getElementById("chart-features"), {
      labels: features.map(function (f) { return f.name; }),
      values: features.map(function (f) { return f.psi; }),
      colors: features.map(function (f) { return f.drifted ? C.PALETTE[2] : C.PALETTE[5]; }),
      minMax: 0.25,
      empty: shown ? shown.drift.samples + " rows: fewer than " + shown.drift.min_samples + ", no verdict yet" : "no prediction yet",
    });

    var rated = s.watch.filter(function (w) { return w.live_accuracy || w.estimated_accuracy; });
    C.groupedBarChart(document.getElementById("chart-accuracy"), {
      groups: rated.map(function (w) { return w.model + " v" + w.version; }),
      series: [
        { name: "live (feedback)", color: C.PALETTE[0],
          values: rated.map(function (w) { return w.live_accuracy ? w.live_accuracy.value : null; }) },
        { name: "estimated", color: C.PALETTE[3],
          values: rated.map(function (w) { return w.estimated_accuracy ? w.estimated_accuracy.value : null; }) },
      ],
      minMax: 1,
      empty: "no prediction yet",
    });
    var clients = Object.keys(s.clients);
    C.barChart(document.getElementById("chart-clients"), {
      labels: clients,
      values: clients.map(function (k) { return s.clients[k].requests; }),
      colors: clients.map(function (k) { return s.clients[k].errors ? C.PALETTE[2] : C.PALETTE[0]; }),
      empty: "no request in the window",
    });
    var covered = s.watch.filter(function (w) { return w.feedback_coverage !== null; });
    text("coverage", covered.length
      ? "Feedback coverage: " + covered.map(function (w) { return w.model + " v" + w.version + " " + (100 * w.feedback_coverage).toFixed(1) + " %"; }).join(" · ")
      : "Feedback coverage: no prediction logged yet");

    var list = document.getElementById("model-states");
    list.replaceChildren.apply(list, s.models.map(function (m) {
      var li = document.createElement("li");
      // version 0: a model folder that was not loaded at all (WEB_SERVE_MODELS, or a failure)
      li.textContent = m.version ? m.name + " v" + m.version + " · " + m.state : m.name + " · not loaded";
      if (m.state !== "READY") li.className = "down";
      return li;
    }));
    statusEl.textContent = "updated " + new Date(s.time * 1000).toLocaleTimeString();
    document.body.dataset.updates = String((parseInt(document.body.dataset.updates || "0", 10) || 0) + 1);
  }

  function poll() {
    fetch(tiles.dataset.statsUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(update)
      .catch(function () { statusEl.textContent = "the server does not answer; retrying…"; })
      .finally(function () { window.setTimeout(poll, pollMs); });
  }
  poll();
})();
