/* Score history charts (PHQ-9, GAD-7, ...). Each canvas[data-score-chart] names a
   json_script block: {series: [{label, color, points: [{t, y}]}], lines: [{label, y, color}],
   y_max, y_label}. Reference lines (baseline, response, remission) are drawn dashed. */
(function () {
  "use strict";

  function draw(canvas) {
    var data = clinic.jsonData(canvas.getAttribute("data-score-chart"));
    if (!data || !window.Chart) return;
    var times = [];
    data.series.forEach(function (s) { s.points.forEach(function (p) { times.push(Date.parse(p.t)); }); });
    var min = times.length ? Math.min.apply(null, times) : Date.now() - 864e5;
    var max = times.length ? Math.max.apply(null, times) : Date.now();
    var day = 864e5;
    min = Math.floor(min / day) * day;
    max = Math.max(Math.ceil(max / day) * day, min + day);
    var step = Math.max(1, Math.ceil((max - min) / day / 7)) * day;
    var datasets = data.series.map(function (s) {
      return {
        label: s.label, borderColor: s.color, backgroundColor: s.color, pointRadius: 4, borderWidth: 2,
        tension: 0.15, data: s.points.map(function (p) { return { x: Date.parse(p.t), y: p.y }; }),
      };
    });
    (data.lines || []).forEach(function (line) {
      datasets.push({
        label: line.label, borderColor: line.color, borderDash: [6, 4], borderWidth: 2, pointRadius: 0,
        pointHitRadius: 0, reference: true, data: [{ x: min, y: line.y }, { x: max, y: line.y }],
      });
    });
    var dateFormat = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short" });
    new Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false, parsing: true,
        scales: {
          x: { type: "linear", min: min, max: max, ticks: { stepSize: step, callback: function (v) { return dateFormat.format(new Date(v)); } } },
          y: { min: 0, suggestedMax: data.y_max || 27, title: { display: !!data.y_label, text: data.y_label || "" } },
        },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 14 } },
          tooltip: {
            filter: function (item) { return !item.dataset.reference; },
            callbacks: { title: function (items) { return items.length ? dateFormat.format(new Date(items[0].parsed.x)) : ""; } },
          },
        },
      },
    });
    canvas.setAttribute("data-points", String(times.length));
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("canvas[data-score-chart]").forEach(draw);
  });
})();
