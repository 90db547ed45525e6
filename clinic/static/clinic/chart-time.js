/* A tiny date adapter for Chart.js 4's time scale (no library, no CDN): timestamps are epoch
   milliseconds, labels are written with Intl in the site's time zone
   (window.clinicChartTime.setZone). Load after chart.umd.min.js. */
(function () {
  "use strict";
  if (!window.Chart || !Chart._adapters) return;
  var zone;
  var UNIT_MS = { millisecond: 1, second: 1e3, minute: 6e4, hour: 3.6e6, day: 8.64e7, week: 6.048e8 };
  var OPTIONS = {
    datetime: { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit" },
    millisecond: { hour: "2-digit", minute: "2-digit", second: "2-digit" },
    second: { hour: "2-digit", minute: "2-digit", second: "2-digit" },
    minute: { hour: "2-digit", minute: "2-digit" },
    hour: { hour: "2-digit", minute: "2-digit" },
    day: { day: "numeric", month: "short" },
    week: { day: "numeric", month: "short" },
    month: { month: "short", year: "numeric" },
    quarter: { month: "short", year: "numeric" },
    year: { year: "numeric" },
  };
  var cache = {};

  function formatter(key) {
    var id = key + "|" + zone;
    if (!cache[id]) {
      var options = Object.assign({ hourCycle: "h23" }, OPTIONS[key] || OPTIONS.datetime);
      if (zone) options.timeZone = zone;
      cache[id] = new Intl.DateTimeFormat("en-GB", options);
    }
    return cache[id];
  }

  /* Milliseconds to add to an instant to get the zone's wall clock (as if it were UTC). */
  function offset(t) {
    var options = { hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" };
    if (zone) options.timeZone = zone;
    var v = {};
    new Intl.DateTimeFormat("en-US", options).formatToParts(new Date(t)).forEach(function (p) { v[p.type] = p.value; });
    return Date.UTC(+v.year, +v.month - 1, +v.day, +v.hour % 24, +v.minute, +v.second) - (t - (t % 1000));
  }

  function startOf(t, unit) {
    if (unit === "millisecond") return t;
    var off = offset(t), d = new Date(t + off);
    if (unit === "second") d.setUTCMilliseconds(0);
    else if (unit === "minute") d.setUTCSeconds(0, 0);
    else if (unit === "hour") d.setUTCMinutes(0, 0, 0);
    else {
      d.setUTCHours(0, 0, 0, 0);
      if (unit === "week" || unit === "isoWeek") d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
      else if (unit === "month") d.setUTCDate(1);
      else if (unit === "quarter") { d.setUTCDate(1); d.setUTCMonth(d.getUTCMonth() - (d.getUTCMonth() % 3)); }
      else if (unit === "year") d.setUTCMonth(0, 1);
    }
    return d.getTime() - off;
  }

  function add(t, amount, unit) {
    if (UNIT_MS[unit]) return t + amount * UNIT_MS[unit];
    var d = new Date(t);
    if (unit === "month") d.setUTCMonth(d.getUTCMonth() + amount);
    else if (unit === "quarter") d.setUTCMonth(d.getUTCMonth() + 3 * amount);
    else if (unit === "year") d.setUTCFullYear(d.getUTCFullYear() + amount);
    return d.getTime();
  }

  Chart._adapters._date.override({
    _id: "clinic-intl",
    formats: function () { var out = {}; Object.keys(OPTIONS).forEach(function (k) { out[k] = k; }); return out; },
    parse: function (value) {
      if (value === null || value === undefined) return null;
      var t = typeof value === "number" ? value : new Date(value).getTime();
      return isNaN(t) ? null : t;
    },
    format: function (t, key) { return formatter(key).format(new Date(t)); },
    add: add,
    diff: function (max, min, unit) {
      if (UNIT_MS[unit]) return (max - min) / UNIT_MS[unit];
      var a = new Date(max), b = new Date(min);
      var months = (a.getUTCFullYear() - b.getUTCFullYear()) * 12 + a.getUTCMonth() - b.getUTCMonth();
      return unit === "month" ? months : unit === "quarter" ? months / 3 : months / 12;
    },
    startOf: startOf,
    endOf: function (t, unit) { return add(startOf(t, unit), 1, unit === "isoWeek" ? "week" : unit) - 1; },
  });
  window.clinicChartTime = { setZone: function (name) { zone = name || undefined; cache = {}; } };
})();
