/* The bedside page: the vitals form posts to the JSON API (POST /api/v1/sessions/{id}/vitals/)
   and the chart, the alerts and the table update in place; every 15 seconds the chart
   re-reads the session's vitals so that sets logged elsewhere (another nurse, a device)
   appear too. Without JavaScript the form posts to the page and the page reloads. */
(function () {
  "use strict";

  var data, chart, timeFormat;
  var SERIES = [
    { key: "systolic", label: "Systolic", color: "#b42318", axis: "y" },
    { key: "diastolic", label: "Diastolic", color: "#d97706", axis: "y" },
    { key: "heart_rate", label: "Heart rate", color: "#0b5cad", axis: "y" },
    { key: "spo2", label: "SpO₂ %", color: "#1c7c3c", axis: "y2" },
  ];

  function labelOf(row) { return timeFormat.format(new Date(row.t)); }

  function thresholdLines(count) {
    var t = data.thresholds, lines = [
      clinic.referenceLine("Systolic high (" + t.bp_high_systolic + ")", t.bp_high_systolic, count, "#b42318", "y"),
      clinic.referenceLine("Diastolic high (" + t.bp_high_diastolic + ")", t.bp_high_diastolic, count, "#d97706", "y"),
      clinic.referenceLine("Pre-dose systolic (" + t.predose_systolic_above + ")", t.predose_systolic_above, count, "#9ca3af", "y"),
      clinic.referenceLine("SpO₂ low (<" + t.spo2_low_below + ")", t.spo2_low_below, count, "#1c7c3c", "y2"),
    ];
    if (data.baseline_systolic) {
      var rise = data.baseline_systolic + t.bp_rise_systolic;
      lines.push(clinic.referenceLine("Systolic rise (+" + t.bp_rise_systolic + " = " + rise + ")", rise, count, "#7c3aed", "y"));
    }
    return lines;
  }

  function datasets() {
    var rows = data.vitals;
    var baselines = rows.filter(function (r) { return r.phase === "baseline"; });
    if (baselines.length) data.baseline_systolic = baselines[baselines.length - 1].systolic;
    var series = SERIES.map(function (s) {
      return {
        label: s.label, data: rows.map(function (r) { return r[s.key]; }), borderColor: s.color,
        backgroundColor: s.color, yAxisID: s.axis, tension: 0.2, pointRadius: 4, borderWidth: 2,
      };
    });
    return series.concat(thresholdLines(rows.length));
  }

  function labels() {
    var l = data.vitals.map(labelOf);
    while (l.length < 2) l.push("");
    return l;
  }

  function draw() {
    var canvas = document.getElementById("vitals-chart");
    if (!canvas || !window.Chart) return;
    chart = new Chart(canvas, {
      type: "line",
      data: { labels: labels(), datasets: datasets() },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          y: { position: "left", suggestedMin: 40, suggestedMax: 200, title: { display: true, text: "mmHg · /min" } },
          y2: { position: "right", min: 80, max: 100, grid: { drawOnChartArea: false }, title: { display: true, text: "SpO₂ %" } },
        },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 14 } },
          tooltip: { filter: function (item) { return !item.dataset.reference; } },
        },
      },
    });
    canvas.setAttribute("data-points", String(data.vitals.length));
  }

  function update() {
    if (!chart) return draw();
    chart.data.labels = labels();
    chart.data.datasets = datasets();
    chart.update();
    chart.canvas.setAttribute("data-points", String(data.vitals.length));
  }

  function rowOf(v) {
    return { t: v.recorded_at, phase: v.phase, systolic: v.systolic, diastolic: v.diastolic, heart_rate: v.heart_rate,
             spo2: v.spo2, respiratory_rate: v.respiratory_rate };
  }

  /* Re-read the session's vitals (corrections replace what they correct). */
  function poll() {
    if (document.hidden) return;
    clinic.api("GET", data.api.vitals).then(function (res) {
      if (!res.ok || !Array.isArray(res.data)) return;
      var replaced = {};
      res.data.forEach(function (v) { if (v.supersedes) replaced[v.supersedes] = true; });
      var rows = res.data.filter(function (v) { return !replaced[v.id]; }).map(rowOf);
      if (rows.length !== data.vitals.length) {
        data.vitals = rows;
        update();
        refreshRegions();
      }
    });
  }

  function refreshRegions() {
    ["session-live", "vitals-table-region", "session-extras"].forEach(function (id) {
      var node = document.getElementById(id);
      if (node) clinic.refresh(node);
    });
  }

  function showFieldErrors(form, errors) {
    form.querySelectorAll(".field .error.live").forEach(function (n) { n.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (n) { n.removeAttribute("aria-invalid"); });
    var general = [];
    Object.keys(errors || {}).forEach(function (name) {
      var input = form.querySelector('[name="' + name + '"]');
      var text = [].concat(errors[name]).join(" ");
      if (!input) { general.push(name === "non_field_errors" || name === "detail" ? text : name + ": " + text); return; }
      input.setAttribute("aria-invalid", "true");
      var p = document.createElement("p");
      p.className = "error live";
      p.id = input.id + "_error";
      p.textContent = text;
      input.setAttribute("aria-describedby", p.id);
      input.closest(".field").appendChild(p);
    });
    return general;
  }

  function onSubmit(event) {
    var form = event.target;
    event.preventDefault();
    var body = {}, result = document.getElementById("vitals-result"), errorsBox = document.getElementById("vitals-errors");
    ["systolic", "diastolic", "heart_rate", "spo2", "respiratory_rate"].forEach(function (name) {
      var value = form.elements[name].value.trim();
      body[name] = value === "" ? null : Number(value);
    });
    var temp = form.elements.temperature_c.value.trim();
    if (temp !== "") body.temperature_c = Number(temp);
    body.consciousness = form.elements.consciousness.value || "A";
    var moaas = form.elements.moaas.value;
    if (moaas !== "") body.moaas = Number(moaas);
    body.on_oxygen = form.elements.on_oxygen.checked;
    var button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    errorsBox.innerHTML = "";
    result.textContent = "Saving…";
    clinic.api("POST", data.api.vitals, body).then(function (res) {
      button.disabled = false;
      if (res.status === 201) {
        showFieldErrors(form, {});
        var v = res.data;
        data.vitals.push(rowOf(v));
        update();
        var alerts = (v.alerts || []).map(function (a) { return a.severity + ": " + a.message; });
        result.textContent = "Saved at " + labelOf(rowOf(v)) + ". NEWS2 " + v.news2.score + " (" + v.news2.risk.replace("_", "–") + ")." +
          (alerts.length ? " Alert raised — " + alerts.join(" ") : "");
        ["systolic", "diastolic", "heart_rate", "spo2", "respiratory_rate", "temperature_c"].forEach(function (name) { form.elements[name].value = ""; });
        refreshRegions();
        return;
      }
      result.textContent = "";
      var general = res.status === 400 ? showFieldErrors(form, res.data) : [clinic.errorText(res.data)];
      if (general.length) {
        var box = document.createElement("div");
        box.className = "form-errors";
        box.setAttribute("role", "alert");
        box.textContent = general.join(" ");
        errorsBox.appendChild(box);
      }
      var firstInvalid = form.querySelector('[aria-invalid="true"]');
      if (firstInvalid) firstInvalid.focus();
    }).catch(function () {
      button.disabled = false;
      result.textContent = "Not saved: the connection failed. Try again.";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    data = clinic.jsonData("bedside-data");
    if (!data) return;
    timeFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: data.time_zone });
    draw();
    var form = document.getElementById("vitals-form");
    if (form && window.fetch) form.addEventListener("submit", onSubmit);
    setInterval(poll, 15000);
  });
})();
