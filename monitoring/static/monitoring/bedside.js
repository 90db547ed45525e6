/* The bedside page: the vitals form posts to the JSON API (POST /api/v1/sessions/{id}/vitals/)
   and the chart, the alerts and the table update in place; changes pushed to the page
   (clinic/live.js, event `clinic:live`) re-read the session's vitals, so sets logged
   elsewhere (another nurse, a device) appear too. The chart has a true time axis (the tiny
   Intl adapter, clinic/chart-time.js), straight lines, a marker per reading and labelled
   thresholds. Without JavaScript the form posts to the page and the page reloads. */
(function () {
  "use strict";

  var data, chart, timeFormat;
  var SERIES = [
    { key: "systolic", label: "Systolic", color: "#b42318", axis: "y", point: "circle" },
    { key: "diastolic", label: "Diastolic", color: "#d97706", axis: "y", point: "rect" },
    { key: "heart_rate", label: "Heart rate", color: "#0b5cad", axis: "y", point: "triangle" },
    { key: "spo2", label: "SpO₂ %", color: "#1c7c3c", axis: "y2", point: "rectRot" },
  ];
  var FIELDS = ["systolic", "diastolic", "heart_rate", "spo2", "respiratory_rate"];

  function ms(row) { return Date.parse(row.t); }
  function labelOf(row) { return timeFormat.format(new Date(row.t)); }

  /* A threshold across the whole time range, as a two-point dataset labelled on the chart. */
  function threshold(label, value, color, axis, span) {
    return {
      label: label, data: [{ x: span[0], y: value }, { x: span[1], y: value }], borderColor: color,
      borderDash: [6, 4], borderWidth: 2, pointRadius: 0, pointHitRadius: 0, fill: false, yAxisID: axis,
      reference: true, tension: 0,
    };
  }

  function span() {
    var times = data.vitals.map(ms);
    if (!times.length) { var now = Date.now(); return [now - 5 * 60000, now + 5 * 60000]; }
    var first = Math.min.apply(null, times), last = Math.max.apply(null, times);
    if (last - first < 10 * 60000) { first -= 5 * 60000; last += 5 * 60000; }
    return [first, last];
  }

  function thresholdLines() {
    var t = data.thresholds, s = span(), lines = [
      threshold("Systolic high " + t.bp_high_systolic, t.bp_high_systolic, "#b42318", "y", s),
      threshold("Diastolic high " + t.bp_high_diastolic, t.bp_high_diastolic, "#d97706", "y", s),
      threshold("Pre-dose systolic " + t.predose_systolic_above, t.predose_systolic_above, "#6b7280", "y", s),
      threshold("SpO₂ low < " + t.spo2_low_below, t.spo2_low_below, "#1c7c3c", "y2", s),
    ];
    if (data.baseline_systolic) {
      var rise = data.baseline_systolic + t.bp_rise_systolic;
      lines.push(threshold("Systolic rise +" + t.bp_rise_systolic + " = " + rise, rise, "#7c3aed", "y", s));
    }
    return lines;
  }

  function datasets() {
    var rows = data.vitals;
    var baselines = rows.filter(function (r) { return r.phase === "baseline"; });
    if (baselines.length) data.baseline_systolic = baselines[baselines.length - 1].systolic;
    var series = SERIES.map(function (s) {
      return {
        label: s.label, data: rows.map(function (r) { return { x: ms(r), y: r[s.key] }; }), borderColor: s.color,
        backgroundColor: s.color, yAxisID: s.axis, tension: 0, cubicInterpolationMode: "default",
        pointRadius: 5, pointHoverRadius: 7, pointStyle: s.point, borderWidth: 2, spanGaps: false,
      };
    });
    return series.concat(thresholdLines());
  }

  /* Each threshold's name written at the right end of its line. */
  var thresholdLabels = {
    id: "thresholdLabels",
    afterDatasetsDraw: function (c) {
      var ctx = c.ctx;
      c.data.datasets.forEach(function (ds, i) {
        if (!ds.reference || !c.isDatasetVisible(i)) return;
        var points = c.getDatasetMeta(i).data;
        var end = points[points.length - 1];
        if (!end) return;
        ctx.save();
        ctx.fillStyle = ds.borderColor;
        ctx.font = "12px system-ui, sans-serif";
        ctx.textAlign = "right";
        ctx.textBaseline = "bottom";
        ctx.fillText(ds.label, Math.min(end.x, c.chartArea.right) - 4, end.y - 3);
        ctx.restore();
      });
    },
  };

  function draw() {
    var canvas = document.getElementById("vitals-chart");
    if (!canvas || !window.Chart) return;
    if (window.clinicChartTime) window.clinicChartTime.setZone(data.time_zone);
    chart = new Chart(canvas, {
      type: "line",
      data: { datasets: datasets() },
      plugins: [thresholdLabels],
      options: {
        responsive: true, maintainAspectRatio: false, animation: false, parsing: true,
        interaction: { mode: "nearest", intersect: false },
        scales: {
          x: {
            type: "time", time: { minUnit: "minute", tooltipFormat: "minute" },
            ticks: { autoSkip: true, maxRotation: 0, source: "auto" }, title: { display: true, text: "Time (" + data.time_zone + ")" },
          },
          y: { position: "left", suggestedMin: 40, suggestedMax: 200, title: { display: true, text: "mmHg · /min" } },
          y2: { position: "right", min: 80, max: 100, grid: { drawOnChartArea: false }, title: { display: true, text: "SpO₂ %" } },
        },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 14, usePointStyle: true, filter: function (item, d) { return !d.datasets[item.datasetIndex].reference; } } },
          tooltip: { filter: function (item) { return !item.dataset.reference; } },
        },
      },
    });
    canvas.setAttribute("data-points", String(data.vitals.length));
    canvas.setAttribute("data-axis", "time");
  }

  function update() {
    if (!chart) return draw();
    chart.data.datasets = datasets();
    chart.update();
    chart.canvas.setAttribute("data-points", String(data.vitals.length));
  }

  function rowOf(v) {
    return { t: v.recorded_at, phase: v.phase, systolic: v.systolic, diastolic: v.diastolic, heart_rate: v.heart_rate,
             spo2: v.spo2, respiratory_rate: v.respiratory_rate };
  }

  /* Re-read the session's vitals (corrections replace what they correct). */
  function reread() {
    clinic.api("GET", data.api.vitals).then(function (res) {
      if (!res.ok || !Array.isArray(res.data)) return;
      var replaced = {};
      res.data.forEach(function (v) { if (v.supersedes) replaced[v.supersedes] = true; });
      var rows = res.data.filter(function (v) { return !replaced[v.id]; }).map(rowOf);
      if (rows.length !== data.vitals.length) {
        data.vitals = rows;
        update();
      }
    });
  }

  function refreshRegions() {
    document.querySelectorAll("[data-live-region]").forEach(function (node) { clinic.refresh(node); });
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

  /* After a save every field starts empty again (nothing is inherited by the next set:
     on oxygen adds 2 to NEWS2), ACVPU back to "Alert", and the nurse is on the first field. */
  function clearForm(form) {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.type === "hidden" || el.type === "submit" || el.tagName === "BUTTON") return;
      if (el.type === "checkbox" || el.type === "radio") el.checked = false;
      else if (el.tagName === "SELECT") el.value = el.name === "consciousness" ? "A" : "";
      else el.value = "";
    });
    form.elements[FIELDS[0]].focus();
  }

  function onSubmit(event) {
    var form = event.target;
    event.preventDefault();
    var body = {}, result = document.getElementById("vitals-result"), errorsBox = document.getElementById("vitals-errors");
    FIELDS.forEach(function (name) {
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
        clearForm(form);
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

  /* Elapsed time, the expected end and the countdown to the next set, every second. */
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + " h " + two(m) + " min" : m + " min " + two(s) + " s");
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-elapsed-since]").forEach(function (node) {
      node.textContent = duration((now - Number(node.getAttribute("data-elapsed-since"))) / 1000);
    });
    document.querySelectorAll("[data-countdown-to]").forEach(function (node) {
      var left = (Number(node.getAttribute("data-countdown-to")) - now) / 1000;
      node.textContent = left >= 0 ? "in " + duration(left) : "overdue by " + duration(-left);
      node.classList.toggle("overdue", left < 0);
    });
  }

  /* A form refused after a post (no JavaScript, or a step) is brought into view and focused. */
  function focusRefused() {
    var box = document.querySelector("[data-refused]");
    if (!box) return;
    box.scrollIntoView({ block: "center" });
    var target = box.querySelector('[aria-invalid="true"], .has-error input, .has-error select, .has-error textarea') || box.querySelector(".form-errors") || box;
    if (!target.hasAttribute("tabindex") && !/^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(target.tagName)) target.setAttribute("tabindex", "-1");
    target.focus({ preventScroll: true });
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusRefused();
    setInterval(tick, 1000);
    tick();
    data = clinic.jsonData("bedside-data");
    if (!data) return;
    timeFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: data.time_zone });
    draw();
    var form = document.getElementById("vitals-form");
    if (form && window.fetch) form.addEventListener("submit", onSubmit);
    document.addEventListener("clinic:live", reread);
    document.addEventListener("clinic:refreshed", tick);
  });
})();
