/* cachechaos report: draws the charts described in #report-data with uPlot (inlined above).
 *
 * Timelines share x = seconds since the start of the run: their cursors are synced, and a drag
 * to zoom on one zooms all of them (double-click or "Reset zoom" to undo), so a spike in one
 * metric can be read against every other one. Faults are shaded, phases and failovers marked.
 */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("report-data").textContent);
  var ann = data.annotations || { faults: [], phases: [], markers: [] };
  var charts = [];
  // Read by the report tests (and handy in the console): every chart and its uPlot instance.
  window.__reportCharts = charts;

  var PRINT_WIDTH = 680; // A4 and Letter portrait, less margins, at 96 px/in
  var FAULT_FILL = "rgba(213,94,0,0.13)";
  var FAULT_FAILED_FILL = "rgba(120,120,120,0.16)";
  var FAULT_TEXT = "#8a3400";
  var MARKER = "#7a2e8f";
  var PHASE = "#8c8c8c";
  var BAND_FILL = "rgba(0,158,115,0.12)";

  function px(n) { return Math.round(n * uPlot.pxRatio); }
  function font(size, weight) { return (weight || "") + " " + px(size) + "px system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"; }

  // Trailing zeros dropped: axis ticks read 1, 10, 100 rather than 1.00, 10.0, 100.
  function trimZeros(text) { return text.indexOf(".") < 0 ? text : text.replace(/\.?0+$/, ""); }
  function fmtNum(v) {
    if (v == null || !isFinite(v)) return "–";
    var a = Math.abs(v);
    if (a >= 10000) return Math.round(v).toLocaleString("en-US");
    if (a >= 100) return v.toFixed(0);
    if (a >= 10) return trimZeros(v.toFixed(1));
    if (a >= 1) return trimZeros(v.toFixed(2));
    if (a === 0) return "0";
    return trimZeros(v.toPrecision(2));
  }
  function fmtPct(v) { return v == null ? "–" : fmtNum(v * 100) + "%"; }
  // Seconds up to two minutes, then m:ss; an axis uses one form for all its ticks.
  function fmtSec(v, minutes) {
    if (v == null) return "";
    var s = Math.round(v);
    if (!minutes && Math.abs(s) < 120) return s + " s";
    var sign = s < 0 ? "-" : "", m = Math.floor(Math.abs(s) / 60), r = Math.abs(s) % 60;
    return sign + m + ":" + (r < 10 ? "0" : "") + r;
  }
  var ROLE_NAMES = { 0: "down", 1: "replica", 2: "primary" };
  function fmtRole(v) { return v == null ? "–" : ROLE_NAMES[Math.round(v)] || fmtNum(v); }

  // Ticks on round numbers of seconds (uPlot's default steps suit unitless numbers: 3 s, 8 s, ...).
  var SECOND_INCRS = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

  function secondTicks(u, splits) {
    var minutes = Math.max(Math.abs(u.scales.x.min), Math.abs(u.scales.x.max)) >= 120;
    return splits.map(function (v) { return fmtSec(v, minutes); });
  }

  function widthOf(el) { return Math.max(300, Math.floor(el.getBoundingClientRect().width)); }

  // -- annotations: fault windows shaded, phase boundaries dashed, failovers marked -----------------

  function clipToPlot(u, ctx) {
    ctx.beginPath();
    ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
    ctx.clip();
  }

  function vline(u, ctx, x, color, width, dash) {
    ctx.strokeStyle = color;
    ctx.lineWidth = px(width);
    ctx.setLineDash(dash ? dash.map(px) : []);
    ctx.beginPath();
    ctx.moveTo(x, u.bbox.top);
    ctx.lineTo(x, u.bbox.top + u.bbox.height);
    ctx.stroke();
  }

  // Right of its line, or left of it when it would run past the plot's right edge; on the first row
  // (of four) where it overlaps no other label, so narrow or printed charts stay legible.
  function placeLabels(u, ctx, items) {
    var rows = [[], [], [], []], right = u.bbox.left + u.bbox.width;
    items.forEach(function (it) {
      var w = ctx.measureText(it.text).width;
      var x = it.x + px(3) + w > right ? Math.max(u.bbox.left, it.x - px(3) - w) : it.x + px(3);
      var row = 0;
      while (row < rows.length - 1 && rows[row].some(function (r) { return x < r[1] + px(6) && x + w + px(6) > r[0]; })) row++;
      rows[row].push([x, x + w]);
      ctx.fillStyle = it.color;
      ctx.fillText(it.text, x, u.bbox.top + px(2 + 13 * row));
    });
  }

  function annotationsPlugin() {
    return {
      hooks: {
        drawClear: [function (u) {
          var ctx = u.ctx;
          ctx.save();
          clipToPlot(u, ctx);
          ann.faults.forEach(function (f) {
            var x0 = u.valToPos(f.start, "x", true), x1 = u.valToPos(f.end, "x", true);
            if (f.one_shot) {
              vline(u, ctx, x0, FAULT_TEXT, 2);
            } else {
              ctx.fillStyle = f.ok ? FAULT_FILL : FAULT_FAILED_FILL;
              ctx.fillRect(x0, u.bbox.top, Math.max(x1 - x0, px(1)), u.bbox.height);
            }
          });
          ann.phases.forEach(function (p, i) {
            if (i > 0) vline(u, ctx, u.valToPos(p.start, "x", true), PHASE, 1, [4, 3]);
          });
          ctx.restore();
        }],
        draw: [function (u) {
          var ctx = u.ctx;
          ctx.save();
          clipToPlot(u, ctx);
          ctx.textAlign = "left"; // uPlot leaves the axes' alignment on the context
          ctx.textBaseline = "top";
          ctx.font = font(11, "600");
          var items = ann.faults.map(function (f) {
            return { x: u.valToPos(f.start, "x", true), color: FAULT_TEXT,
                     text: (f.ok ? "" : "✗ ") + f.label + (f.closed ? "" : " (not healed)") };
          });
          ann.markers.forEach(function (m) {
            var x = u.valToPos(m.t, "x", true);
            vline(u, ctx, x, MARKER, 1.5);
            items.push({ x: x, color: MARKER, text: m.label });
          });
          items.sort(function (a, b) { return a.x - b.x; });
          placeLabels(u, ctx, items);
          ctx.font = font(10);
          ctx.fillStyle = PHASE;
          ctx.textBaseline = "bottom";
          ann.phases.forEach(function (p) {
            ctx.fillText(p.name, u.valToPos(p.start, "x", true) + px(3), u.bbox.top + u.bbox.height - px(2));
          });
          ctx.restore();
        }],
      },
    };
  }

  // -- zoom on one timeline zooms them all ------------------------------------------------------------

  var syncing = false;
  function syncX(u, key) {
    if (key !== "x" || syncing) return;
    syncing = true;
    charts.forEach(function (c) {
      if (c.kind === "timeline" && c.u !== u) c.u.setScale("x", { min: u.scales.x.min, max: u.scales.x.max });
    });
    syncing = false;
  }

  function resetZoom() {
    charts.forEach(function (c) {
      if (c.kind === "timeline") {
        var x = c.u.data[0];
        c.u.setScale("x", { min: x[0], max: x[x.length - 1] });
      }
    });
  }

  // -- chart kinds ------------------------------------------------------------------------------------

  function timeline(spec, el) {
    var y = spec.y || {};
    var fmt = y.percent ? fmtPct : y.roles ? fmtRole : fmtNum;
    var series = [{ label: "time", value: function (u, v) { return v == null ? "–" : "t+" + fmtSec(v); } }];
    spec.series.forEach(function (s) {
      series.push({
        label: s.label, stroke: s.color, width: s.width || 1.5, dash: s.dash ? [6, 4] : undefined,
        spanGaps: false, points: { show: false },
        paths: y.roles ? uPlot.paths.stepped({ align: 1 }) : undefined,
        value: function (u, v) { return fmt(v); },
      });
    });
    var yScale;
    if (y.log) yScale = { distr: 3, log: 10 };
    else if (y.roles) yScale = { range: [-0.3, 2.7] };
    else yScale = {
      range: function (u, min, max) {
        var lo = y.min != null ? y.min : min, hi = y.max != null ? y.max : max;
        if (hi == null || lo == null) return [0, 1];
        if (y.max == null) hi = hi + (hi - lo) * 0.25 || lo + 1; // headroom for the fault labels
        return [lo, hi];
      },
    };
    var yAxis = { size: 64, values: function (u, splits) { return splits.map(fmt); } };
    if (y.roles) yAxis.splits = function () { return [0, 1, 2]; };
    var opts = {
      width: widthOf(el), height: spec.height || 210, series: series,
      scales: { x: { time: false }, y: yScale },
      axes: [{ incrs: SECOND_INCRS, values: secondTicks }, yAxis],
      cursor: { drag: { x: true, y: false }, sync: { key: "run" } },
      plugins: [annotationsPlugin()],
      hooks: { setScale: [syncX] },
    };
    return new uPlot(opts, [spec.x].concat(spec.series.map(function (s) { return s.values; })), el);
  }

  function bars(spec, el) {
    var x = spec.values.map(function (_, i) { return i; });
    var top = Math.max.apply(null, spec.values.concat([1]));
    var opts = {
      width: widthOf(el), height: spec.height || 190,
      series: [
        { label: "age", value: function (u, i) { return i == null ? "–" : spec.labels[i]; } },
        { label: spec.label || "count", stroke: "#0072B2", fill: "rgba(0,114,178,0.55)", width: 1, points: { show: false },
          paths: uPlot.paths.bars({ size: [0.7, 80] }), value: function (u, v) { return fmtNum(v); } },
      ],
      scales: { x: { time: false, range: [-0.5, x.length - 0.5] }, y: { range: [0, top * 1.1] } },
      axes: [
        { splits: function () { return x; }, values: function (u, splits) { return splits.map(function (i) { return spec.labels[i] || ""; }); },
          font: font(10), gap: 4 },
        { size: 56, values: function (u, splits) { return splits.map(fmtNum); } },
      ],
      cursor: { drag: { x: false, y: false } },
    };
    return new uPlot(opts, [x, spec.values], el);
  }

  function recovery(spec, el) {
    var fmt = spec.percent ? fmtPct : fmtNum;
    var constant = function (v) { return spec.x.map(function () { return v == null ? null : v; }); };
    var opts = {
      width: widthOf(el), height: spec.height || 220,
      series: [
        { label: "since fault end", value: function (u, v) { return v == null ? "–" : fmtSec(v); } },
        { label: spec.unit === "%" ? "value" : spec.unit, stroke: "#0072B2", width: 2, points: { show: false }, value: function (u, v) { return fmt(v); } },
        { label: "baseline mean", stroke: "#555", width: 1, dash: [6, 4], points: { show: false }, value: function (u, v) { return fmt(v); } },
        { label: "band edge", stroke: "#009E73", width: 1.5, dash: [2, 3], points: { show: false }, value: function (u, v) { return fmt(v); } },
      ],
      scales: { x: { time: false } },
      axes: [{ incrs: SECOND_INCRS, values: secondTicks },
             { size: 64, values: function (u, splits) { return splits.map(fmt); } }],
      cursor: { drag: { x: true, y: false } },
      hooks: {
        drawClear: [function (u) {
          if (spec.threshold == null) return;
          var ctx = u.ctx, yPos = u.valToPos(spec.threshold, "y", true);
          ctx.save();
          clipToPlot(u, ctx);
          ctx.fillStyle = BAND_FILL;
          if (spec.direction === "below") ctx.fillRect(u.bbox.left, yPos, u.bbox.width, u.bbox.top + u.bbox.height - yPos);
          else ctx.fillRect(u.bbox.left, u.bbox.top, u.bbox.width, yPos - u.bbox.top);
          ctx.restore();
        }],
        draw: [function (u) {
          var ctx = u.ctx;
          ctx.save();
          clipToPlot(u, ctx);
          ctx.font = font(11, "600");
          ctx.textAlign = "left";
          ctx.textBaseline = "top";
          var x0 = u.valToPos(0, "x", true);
          vline(u, ctx, x0, FAULT_TEXT, 1.5);
          ctx.fillStyle = FAULT_TEXT;
          ctx.fillText("fault ended", x0 + px(3), u.bbox.top + px(2));
          if (spec.recovered_x != null) {
            var xr = u.valToPos(spec.recovered_x, "x", true);
            vline(u, ctx, xr, "#00734f", 2);
            ctx.fillStyle = "#00734f";
            ctx.fillText("recovered after " + fmtSec(spec.recovered_x), xr + px(3), u.bbox.top + px(16));
          }
          ctx.restore();
        }],
      },
    };
    return new uPlot(opts, [spec.x, spec.values, constant(spec.baseline), constant(spec.threshold)], el);
  }

  var KINDS = { timeline: timeline, bars: bars, recovery: recovery };

  (data.charts || []).forEach(function (spec) {
    var el = document.querySelector('[data-chart="' + spec.id + '"]');
    if (!el) return;
    try {
      var u = KINDS[spec.kind](spec, el);
      charts.push({ id: spec.id, kind: spec.kind, u: u, el: el, height: u.height });
    } catch (e) {
      el.textContent = "This chart could not be drawn: " + e;
      console.error("chart " + spec.id + " failed", e);
    }
  });

  // -- screen size, print -------------------------------------------------------------------------------

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      charts.forEach(function (c) { c.u.setSize({ width: widthOf(c.el), height: c.height }); });
    }, 100);
  });

  var reopen = [];
  function beforePrint() {
    charts.forEach(function (c) { c.u.setSize({ width: Math.min(PRINT_WIDTH, widthOf(c.el)), height: c.height }); });
    // Collapsed sections (configuration, logs) are printed open: paper has no click.
    document.querySelectorAll("details:not([open])").forEach(function (d) { d.open = true; reopen.push(d); });
  }
  function afterPrint() {
    charts.forEach(function (c) { c.u.setSize({ width: widthOf(c.el), height: c.height }); });
    reopen.forEach(function (d) { d.open = false; });
    reopen = [];
  }
  window.addEventListener("beforeprint", beforePrint);
  window.addEventListener("afterprint", afterPrint);

  // A log tail is read from its end: show the last lines first.
  document.querySelectorAll(".logs pre").forEach(function (pre) { pre.scrollTop = pre.scrollHeight; });
  document.querySelectorAll("[data-action=reset-zoom]").forEach(function (b) { b.addEventListener("click", resetZoom); });
  document.body.setAttribute("data-charts-ready", String(charts.length));
})();
