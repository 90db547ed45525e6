/* Grouped bar charts from a json_script block "outcomes-data": {labels, <key>: [{label, color,
   values}]}; each canvas[data-bar-chart="<key>"] draws one key. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var data = clinic.jsonData("outcomes-data");
    if (!data || !window.Chart) return;
    document.querySelectorAll("canvas[data-bar-chart]").forEach(function (canvas) {
      var groups = data[canvas.getAttribute("data-bar-chart")] || [];
      var max = canvas.getAttribute("data-max");
      new Chart(canvas, {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: groups.map(function (g) {
            return { label: g.label, data: g.values, backgroundColor: g.color, borderColor: g.color };
          }),
        },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          scales: { y: { beginAtZero: true, max: max ? Number(max) : undefined } },
          plugins: { legend: { position: "bottom", labels: { boxWidth: 14 } } },
        },
      });
      canvas.setAttribute("data-bars", String(data.labels.length));
    });
  });
})();
