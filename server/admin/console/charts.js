// Line charts on a <canvas>, drawn by hand (no chart library to download): time on x, one or
// more series on y, a grid with a few labelled values, a legend. Series are [{name, color,
// points: [[time_ms, value], ...]}].
"use strict";

const Charts = (() => {
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function label(v, unit) {
    const units = [[1e9, "G"], [1e6, "M"], [1e3, "k"]];
    for (const [d, s] of units) if (Math.abs(v) >= d) return (v / d).toFixed(v / d >= 10 ? 0 : 1) + s + unit;
    return (Number.isInteger(v) ? v : v.toFixed(v < 1 ? 2 : 1)) + unit;
  }

  // Draws `series` into `canvas`; the last `spanMs` of time is shown.
  function draw(canvas, series, { unit = "", spanMs = 120000 } = {}) {
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    canvas.width = w * ratio;
    canvas.height = h * ratio;
    const g = canvas.getContext("2d");
    g.scale(ratio, ratio);
    g.clearRect(0, 0, w, h);
    const left = 52, right = 8, top = 8, bottom = 20;
    const now = Date.now(), from = now - spanMs;
    let max = 0;
    for (const s of series) for (const [t, v] of s.points) if (t >= from) max = Math.max(max, v);
    max = niceMax(max);
    g.font = "11px system-ui, sans-serif";
    g.fillStyle = "#6b7385";
    g.strokeStyle = "#e6e9ef";
    g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = top + (h - top - bottom) * (1 - i / 4);
      g.beginPath();
      g.moveTo(left, y);
      g.lineTo(w - right, y);
      g.stroke();
      g.fillText(label((max * i) / 4, unit), 4, y + 4);
    }
    for (let s = 0; s <= spanMs / 1000; s += 30) {
      const x = left + (w - left - right) * (1 - (s * 1000) / spanMs);
      g.fillText(s === 0 ? "now" : "-" + s + "s", x - 10, h - 4);
    }
    for (const s of series) {
      g.strokeStyle = s.color;
      g.lineWidth = 2;
      g.beginPath();
      let started = false;
      for (const [t, v] of s.points) {
        if (t < from) continue;
        const x = left + ((w - left - right) * (t - from)) / spanMs;
        const y = top + (h - top - bottom) * (1 - v / max);
        if (started) g.lineTo(x, y); else g.moveTo(x, y);
        started = true;
      }
      g.stroke();
    }
  }

  return { draw, label };
})();
