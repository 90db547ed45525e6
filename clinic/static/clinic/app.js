/* Small progressive enhancement shared by the pages. Every page works without it; with it,
   live parts refresh in place and forms that talk to the JSON API answer without a reload. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /* Call the JSON API with the session cookie. Resolves to {ok, status, data}. */
  function api(method, url, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text }; }
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  /* A human sentence from an API error body: {detail} or {field: [messages]}. */
  function errorText(data) {
    if (!data) return "Something went wrong; try again.";
    if (typeof data.detail === "string") return data.detail;
    var parts = [];
    Object.keys(data).forEach(function (key) {
      var value = data[key];
      var text = Array.isArray(value) ? value.join(" ") : String(value);
      parts.push(key === "non_field_errors" ? text : key.replace(/_/g, " ") + ": " + text);
    });
    return parts.join(" ");
  }

  /* Replace a region (by id) with the same region of a fresh copy of a page. */
  function refresh(region, url) {
    url = url || region.getAttribute("data-refresh-url") || window.location.href;
    return fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById(region.id);
        if (fresh) {
          region.innerHTML = fresh.innerHTML;
          region.dispatchEvent(new CustomEvent("clinic:refreshed", { bubbles: true }));
        }
      })
      .catch(function () { /* offline for a moment: try again next tick */ });
  }

  /* Regions marked data-refresh="seconds" are re-fetched from the page's own URL and
     replaced in place (same id) while the tab is visible and nobody is typing in them. */
  function startRefresh(region) {
    var seconds = parseInt(region.getAttribute("data-refresh"), 10) || 30;
    var id = region.id;
    setInterval(function () {
      var node = document.getElementById(id);  // the region may itself have been replaced
      if (!node || document.hidden) return;
      if (node.contains(document.activeElement) && document.activeElement !== document.body) return;
      refresh(node);
    }, seconds * 1000);
  }

  /* Read a {{ value|json_script:"id" }} block. */
  function jsonData(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  /* Horizontal reference lines (thresholds) as extra line datasets: no plugin needed. */
  function referenceLine(label, value, count, color, axis) {
    var data = [];
    for (var i = 0; i < Math.max(count, 2); i++) data.push(value);
    return {
      label: label, data: data, borderColor: color, borderDash: [6, 4], borderWidth: 2,
      pointRadius: 0, pointHitRadius: 0, fill: false, yAxisID: axis || "y", reference: true,
      tension: 0,
    };
  }

  window.clinic = { api: api, refresh: refresh, errorText: errorText, jsonData: jsonData, referenceLine: referenceLine, csrfToken: csrfToken };

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh]").forEach(startRefresh);
  });
})();
