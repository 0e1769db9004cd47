/* A drawing pad on a <canvas>: strokes with the mouse, a pen or a finger (pointer events),
 * undo and clear, and the drawing as a PNG (opaque strokes on a transparent background,
 * so its opacity is the ink the server reads). Shared by the digits canvas (predict.js)
 * and the wide pad of a whole number (detect.js):
 *
 *   var pad = new window.DrawingPad(canvas, { strokeWidth: 28, onStrokeEnd: fn,
 *                                             onStrokeStart: fn });
 *   pad.undo(); pad.clear(); pad.strokeCount(); pad.toBlob(function (blob) { ... });
 */
(function () {
  "use strict";

  function DrawingPad(canvas, options) {
    var self = this;
    this.canvas = canvas;
    this.strokeWidth = options.strokeWidth;
    this.onStrokeEnd = options.onStrokeEnd || function () {};
    this.onStrokeStart = options.onStrokeStart || function () {};
    this.strokes = [];   // each stroke: a list of [x, y] in canvas pixels
    this.current = null;
    this.ctx = canvas.getContext("2d");

    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      self.current = [self.toCanvas(event)];
      self.strokes.push(self.current);
      self.onStrokeStart();
      self.redraw();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!self.current) return;
      event.preventDefault();
      self.current.push(self.toCanvas(event));
      self.redraw();
    });
    function endStroke() {
      if (!self.current) return;
      self.current = null;
      self.onStrokeEnd();
    }
    canvas.addEventListener("pointerup", endStroke);
    canvas.addEventListener("pointercancel", endStroke);
  }

  DrawingPad.prototype.toCanvas = function (event) {
    var rect = this.canvas.getBoundingClientRect();
    return [
      ((event.clientX - rect.left) * this.canvas.width) / rect.width,
      ((event.clientY - rect.top) * this.canvas.height) / rect.height,
    ];
  };

  DrawingPad.prototype.redraw = function () {
    var ctx = this.ctx;
    var width = this.strokeWidth;
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = width;
    ctx.strokeStyle = "#111827";
    ctx.fillStyle = "#111827";
    this.strokes.forEach(function (points) {
      if (points.length === 1) {
        ctx.beginPath();
        ctx.arc(points[0][0], points[0][1], width / 2, 0, 2 * Math.PI);
        ctx.fill();
        return;
      }
      ctx.beginPath();
      ctx.moveTo(points[0][0], points[0][1]);
      for (var i = 1; i < points.length; i++) ctx.lineTo(points[i][0], points[i][1]);
      ctx.stroke();
    });
  };

  /* The number of finished strokes (a stroke being drawn does not count). */
  DrawingPad.prototype.strokeCount = function () {
    return this.strokes.length - (this.current ? 1 : 0);
  };

  DrawingPad.prototype.undo = function () {
    this.strokes.pop();
    this.current = null;
    this.redraw();
  };

  DrawingPad.prototype.clear = function () {
    this.strokes = [];
    this.current = null;
    this.redraw();
  };

  DrawingPad.prototype.toBlob = function (callback) {
    this.canvas.toBlob(callback, "image/png");
  };

  window.DrawingPad = DrawingPad;
})();
