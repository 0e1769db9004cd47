/* Tiny chart helpers for the two pages: line and bar charts on <canvas>, bars in SVG.
 * Our own code on purpose (no third-party files in the repository, no build step).
 * Exposes window.Charts. */
(function () {
  "use strict";

  var PALETTE = ["#3b5bdb", "#f08c00", "#c92a2a", "#2b8a3e", "#7048e8", "#0c8599", "#d6336c"];
  var GRID = "#e3e8f2";
  var TEXT = "#667085";
  var TICKS = 5;  // intervals on the y axis: with maxima of 1, 2 or 5 x 10^k, ticks stay round
  var FONT = "12px system-ui, -apple-system, Segoe UI, Roboto, sans-serif";

  /* Size the canvas backing store to its CSS size times the pixel ratio: crisp lines. */
  function prepare(canvas) {
    var ratio = window.devicePixelRatio || 1;
    var width = canvas.clientWidth || canvas.width;
    var height = canvas.clientHeight || canvas.height;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    var ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = FONT;
    return { ctx: ctx, width: width, height: height };
  }

  /* A "nice" axis maximum: 1, 2 or 5 times a power of ten, at least `minimum`. */
  function niceMax(value, minimum) {
    var v = Math.max(value, minimum || 0, 1e-9);
    var power = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * power >= v) return steps[i] * power;
    }
    return 10 * power;
  }

  function formatNumber(v) {
    if (v === 0) return "0";
    if (Number.isInteger(v) && Math.abs(v) < 1000) return String(v);
    if (Math.abs(v) >= 1000) return (v / 1000).toFixed(1) + "k";
    if (Math.abs(v) >= 10) return v.toFixed(0);
    if (Math.abs(v) >= 1) return v.toFixed(1);
    return v.toFixed(2);
  }

  function drawAxes(ctx, box, yMax, unit) {
    ctx.strokeStyle = GRID;
    ctx.fillStyle = TEXT;
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (var i = 0; i <= TICKS; i++) {
      var y = box.top + box.height - (i / TICKS) * box.height;
      ctx.beginPath();
      ctx.moveTo(box.left, Math.round(y) + 0.5);
      ctx.lineTo(box.left + box.width, Math.round(y) + 0.5);
      ctx.stroke();
      ctx.fillText(formatNumber((yMax * i) / TICKS) + (unit || ""), box.left - 6, y);
    }
  }

  function drawLegend(ctx, series, x, y) {
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    series.forEach(function (s, i) {
      var color = s.color || PALETTE[i % PALETTE.length];
      ctx.fillStyle = color;
      ctx.fillRect(x, y - 4, 12, 8);
      ctx.fillStyle = TEXT;
      var label = s.name + (s.last !== undefined ? " " + s.last : "");
      ctx.fillText(label, x + 16, y);
      x += ctx.measureText(label).width + 34;
    });
  }

  /* series: [{name, values: [numbers], color}], all of the same length, oldest first. */
  function lineChart(canvas, options) {
    var c = prepare(canvas);
    var ctx = c.ctx;
    var series = options.series || [];
    var box = { left: 48, top: 26, width: c.width - 60, height: c.height - 48 };
    var peak = 0;
    var length = 0;
    series.forEach(function (s) {
      length = Math.max(length, s.values.length);
      s.values.forEach(function (v) { if (v !== null && isFinite(v)) peak = Math.max(peak, v); });
    });
    var yMax = options.yMax || niceMax(peak, options.minMax || 1);
    drawAxes(ctx, box, yMax, options.unit);
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    ctx.fillStyle = TEXT;
    if (options.xLabel) ctx.fillText(options.xLabel, box.left + box.width / 2, box.top + box.height + 6);
    series.forEach(function (s, index) {
      var color = s.color || PALETTE[index % PALETTE.length];
      var n = s.values.length;
      if (n === 0) return;
      var step = length > 1 ? box.width / (length - 1) : 0;
      var offset = length - n;
      ctx.beginPath();
      var penDown = false;
      s.values.forEach(function (v, i) {
        if (v === null || !isFinite(v)) { penDown = false; return; }  // a gap: no data there
        var x = box.left + (offset + i) * step;
        var y = box.top + box.height - (Math.min(v, yMax) / yMax) * box.height;
        if (!penDown) {
          ctx.moveTo(x, y);
          ctx.fillStyle = color;
          ctx.fillRect(x - 2, y - 2, 4, 4);  // a lone point stays visible
        } else {
          ctx.lineTo(x, y);
        }
        penDown = true;
      });
      ctx.strokeStyle = color;
      ctx.lineWidth = 2;
      ctx.lineJoin = "round";
      ctx.stroke();
      if (s.fill && s.values.every(function (v) { return v !== null; })) {
        ctx.lineTo(box.left + (length - 1) * step, box.top + box.height);
        ctx.lineTo(box.left + offset * step, box.top + box.height);
        ctx.closePath();
        ctx.globalAlpha = 0.12;
        ctx.fillStyle = color;
        ctx.fill();
        ctx.globalAlpha = 1;
      }
    });
    drawLegend(ctx, series, box.left, 10);
  }

  /* labels: [strings], values: [numbers]; vertical bars with the value on top. */
  function barChart(canvas, options) {
    var c = prepare(canvas);
    var ctx = c.ctx;
    var labels = options.labels || [];
    var values = options.values || [];
    var box = { left: 48, top: 18, width: c.width - 60, height: c.height - 44 };
    var peak = Math.max.apply(null, values.concat([0]));
    var yMax = niceMax(peak, options.minMax || 5);
    drawAxes(ctx, box, yMax);
    drawThresholds(ctx, box, yMax, options.thresholds);
    if (labels.length === 0) {
      ctx.textAlign = "center";
      ctx.fillStyle = TEXT;
      ctx.fillText(options.empty || "no data yet", box.left + box.width / 2, box.top + box.height / 2);
      return;
    }
    var slot = box.width / labels.length;
    var barWidth = Math.min(56, slot * 0.7);
    labels.forEach(function (label, i) {
      var v = values[i] || 0;
      var h = (v / yMax) * box.height;
      var x = box.left + i * slot + (slot - barWidth) / 2;
      ctx.fillStyle = (options.colors && options.colors[i]) || options.color || PALETTE[0];
      ctx.fillRect(x, box.top + box.height - h, barWidth, h);
      ctx.fillStyle = TEXT;
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      var text = String(label);
      var maxChars = Math.max(3, Math.floor(slot / 7));
      if (text.length > maxChars) text = text.slice(0, maxChars - 1) + "…";
      ctx.fillText(text, x + barWidth / 2, box.top + box.height + 6);
      if (v > 0) {
        ctx.textBaseline = "bottom";
        ctx.fillStyle = "#1d2433";
        ctx.fillText(formatNumber(v), x + barWidth / 2, box.top + box.height - h - 2);
      }
    });
  }

  function drawThresholds(ctx, box, yMax, thresholds) {
    (thresholds || []).forEach(function (t, i) {
      if (t.value > yMax) return;
      var ty = box.top + box.height - (t.value / yMax) * box.height;
      ctx.save();
      ctx.setLineDash([5, 4]);
      ctx.strokeStyle = t.color || TEXT;
      ctx.beginPath();
      ctx.moveTo(box.left, ty);
      ctx.lineTo(box.left + box.width, ty);
      ctx.stroke();
      ctx.restore();
      ctx.fillStyle = t.color || TEXT;
      ctx.textAlign = "right";
      ctx.textBaseline = i % 2 ? "bottom" : "top";  // alternate sides: close lines stay legible
      ctx.fillText(t.label, box.left + box.width, ty + (i % 2 ? -2 : 2));
    });
  }

  /* groups: [names]; series: [{name, values (one per group, null = none), color}];
   * dimmed: [bool per group] draws that group in grey (e.g. too few samples). */
  function groupedBarChart(canvas, options) {
    var c = prepare(canvas);
    var ctx = c.ctx;
    var groups = options.groups || [];
    var series = options.series || [];
    var box = { left: 48, top: 26, width: c.width - 60, height: c.height - 52 };
    var peak = 0;
    series.forEach(function (s) { s.values.forEach(function (v) { if (v !== null) peak = Math.max(peak, v); }); });
    var yMax = niceMax(peak, options.minMax || 1);
    drawAxes(ctx, box, yMax);
    drawThresholds(ctx, box, yMax, options.thresholds);
    drawLegend(ctx, series, box.left, 10);
    if (groups.length === 0) {
      ctx.textAlign = "center";
      ctx.fillStyle = TEXT;
      ctx.fillText(options.empty || "no data yet", box.left + box.width / 2, box.top + box.height / 2);
      return;
    }
    var slot = box.width / groups.length;
    var barWidth = Math.min(40, (slot * 0.8) / series.length);
    groups.forEach(function (group, g) {
      var start = box.left + g * slot + (slot - barWidth * series.length) / 2;
      series.forEach(function (s, k) {
        var v = s.values[g];
        if (v === null || v === undefined) return;
        var h = (Math.min(v, yMax) / yMax) * box.height;
        var x = start + k * barWidth;
        ctx.fillStyle = options.dimmed && options.dimmed[g] ? "#c3cad9" : s.color || PALETTE[k];
        ctx.fillRect(x + 1, box.top + box.height - h, barWidth - 2, h);
        ctx.fillStyle = "#1d2433";
        ctx.textAlign = "center";
        ctx.textBaseline = "bottom";
        ctx.fillText(formatNumber(v), x + barWidth / 2, box.top + box.height - h - 2);
      });
      ctx.fillStyle = TEXT;
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      ctx.fillText(group, box.left + g * slot + slot / 2, box.top + box.height + 6);
    });
  }

  var SVG = "http://www.w3.org/2000/svg";

  function svgElement(name, attributes, text) {
    var el = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) { el.setAttribute(key, attributes[key]); });
    if (text !== undefined) el.textContent = text;
    return el;
  }

  /* Horizontal probability bars in SVG (no style attributes: the CSP forbids them). */
  function probabilityBars(container, labels, values, best) {
    var rowHeight = 22;
    var width = 460;
    var longest = labels.reduce(function (n, label) { return Math.max(n, String(label).length); }, 1);
    var labelWidth = Math.max(28, 10 + 7.5 * longest);  // class names, not just digits
    var valueWidth = 56;
    var barSpace = width - labelWidth - valueWidth;
    var svg = svgElement("svg", {
      viewBox: "0 0 " + width + " " + labels.length * rowHeight,
      role: "img",
      "aria-label": "Probability of each class",
    });
    labels.forEach(function (label, i) {
      var y = i * rowHeight;
      var v = Math.max(0, Math.min(1, values[i] || 0));
      svg.appendChild(svgElement("text", { x: 4, y: y + 15 }, label));
      svg.appendChild(svgElement("rect", {
        x: labelWidth, y: y + 4, width: barSpace, height: rowHeight - 8, rx: 3, fill: "#f1f3f9",
      }));
      svg.appendChild(svgElement("rect", {
        "class": "bar" + (i === best ? " top" : ""),
        x: labelWidth, y: y + 4, width: Math.max(v * barSpace, v > 0 ? 1 : 0), height: rowHeight - 8, rx: 3,
        "data-class": label, "data-probability": v.toFixed(6),
      }));
      svg.appendChild(svgElement("text", { "class": "value", x: width - valueWidth + 8, y: y + 15 },
        (100 * v).toFixed(1) + " %"));
    });
    container.replaceChildren(svg);
  }

  window.Charts = {
    lineChart: lineChart,
    barChart: barChart,
    groupedBarChart: groupedBarChart,
    probabilityBars: probabilityBars,
    formatNumber: formatNumber,
    PALETTE: PALETTE,
  };
})();
