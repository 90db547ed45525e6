/* Live pages (boards, bedside, worklist): changes are pushed over a WebSocket to the push
   server (Channels, monitoring.live) and the page re-reads its [data-live-region] parts over
   HTTP (same permissions as any read). When the connection drops, the page says so and polls
   every `data-poll` seconds until it is back; on every (re)connect it re-reads everything, so
   nothing that happened while it was away is missed. "Updated" (rendered by the server inside
   each region) is the time of the last data the page received. */
(function () {
  "use strict";

  var box, statusNode, site, port, pollMs, socket = null, retry = 1000, pollTimer = null,
      pending = null, pingTimer = null, awaitingPong = false, state = "";

  var TEXT = {
    connecting: "Connecting to live updates…",
    live: "Live: changes appear as they happen.",
    lost: "",
  };

  function wsUrl() {
    var proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    var host = window.location.host;
    if (port) {
      var name = window.location.hostname;
      host = (name.indexOf(":") >= 0 ? "[" + name + "]" : name) + ":" + port;
    }
    return proto + "//" + host + "/ws/live/sites/" + site + "/";
  }

  function setState(next) {
    state = next;
    box.setAttribute("data-state", next);
    statusNode.className = "live-status " + next;
    statusNode.textContent = next === "lost"
      ? "Live updates lost: the connection dropped. This page checks for changes every " + Math.round(pollMs / 1000) + " s."
      : TEXT[next];
    statusNode.setAttribute("role", "status");  // announced politely; the lost state is a visible warning box
  }

  /* A region someone is typing in (or has changed a form of) is not replaced; it is re-read
     when they leave it. */
  function busy(node) {
    var active = document.activeElement;
    if (active && node.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) return true;
    return !!node.querySelector("form[data-dirty]");
  }

  function focusKey(node) {
    var active = document.activeElement;
    if (!active || active === document.body || !node.contains(active)) return null;
    if (active.id) return "#" + CSS.escape(active.id);
    var href = active.getAttribute("href");
    if (href) return '[href="' + href.replace(/"/g, '\\"') + '"]';
    return null;
  }

  function refreshRegion(node) {
    if (busy(node)) { node.setAttribute("data-stale", "1"); return Promise.resolve(); }
    var key = focusKey(node);
    node.removeAttribute("data-stale");
    return window.clinic.refresh(node).then(function () {
      if (!key) return;
      var again = node.querySelector(key);
      if (again) again.focus({ preventScroll: true });
    });
  }

  function refreshAll() {
    var jobs = [];
    document.querySelectorAll("[data-live-region]").forEach(function (node) { jobs.push(refreshRegion(node)); });
    return Promise.all(jobs).then(function () {
      document.dispatchEvent(new CustomEvent("clinic:live"));
    });
  }

  function soon() {
    if (pending) return;
    pending = setTimeout(function () { pending = null; refreshAll(); }, 50);
  }

  function startPolling() { if (!pollTimer) pollTimer = setInterval(refreshAll, pollMs); }
  function stopPolling() { if (pollTimer) { clearInterval(pollTimer); pollTimer = null; } }

  function onMessage(event) {
    var message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    var kinds = message.kinds || [];
    if (kinds.indexOf("hello") >= 0) {
      retry = 1000;
      setState("live");
      stopPolling();
      refreshAll();  // whatever changed while we were away
      return;
    }
    if (kinds.indexOf("pong") >= 0) { awaitingPong = false; return; }
    if (kinds.indexOf("notice") >= 0) document.dispatchEvent(new CustomEvent("clinic:notice", { detail: message }));
    soon();
  }

  function lost() {
    socket = null;
    if (state !== "lost") setState("lost");
    startPolling();
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 15000);
  }

  function connect() {
    try {
      socket = new WebSocket(wsUrl());
    } catch (e) {
      lost();
      return;
    }
    socket.onmessage = onMessage;
    socket.onclose = lost;
  }

  /* A link that died without a close (a server killed outright) is noticed by its ping. */
  function ping() {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    if (awaitingPong) { awaitingPong = false; socket.close(); return; }
    awaitingPong = true;
    try { socket.send(JSON.stringify({ ping: 1 })); } catch (e) { /* onclose follows */ }
  }

  document.addEventListener("DOMContentLoaded", function () {
    box = document.getElementById("live");
    if (!box || !window.clinic) return;
    statusNode = document.getElementById("live-status");
    site = box.getAttribute("data-live-site");
    port = parseInt(box.getAttribute("data-live-port") || "0", 10);
    pollMs = (parseInt(box.getAttribute("data-poll"), 10) || 10) * 1000;
    document.addEventListener("input", function (event) {
      var form = event.target.closest && event.target.closest("[data-live-region] form");
      if (form) form.setAttribute("data-dirty", "1");
    });
    document.addEventListener("focusout", function (event) {
      var region = event.target.closest && event.target.closest("[data-live-region][data-stale]");
      if (region) setTimeout(function () { if (!region.contains(document.activeElement)) refreshRegion(region); }, 0);
    });
    setState("connecting");
    if (!window.WebSocket) { setState("lost"); startPolling(); return; }
    connect();
    pingTimer = setInterval(ping, 10000);
  });
})();
