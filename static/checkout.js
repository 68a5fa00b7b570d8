/* Kassa checkout page behaviour: countdown, copy buttons, live-status fallback, redirects.
   Progressive enhancement only: every action also works as a plain link or form. */
(function () {
  "use strict";
  var root = document.getElementById("checkout");
  if (!root) return;
  var csrf = root.getAttribute("data-csrf");
  var statusUrl = root.getAttribute("data-status-url");

  // htmx requests carry the CSRF token as a header too (forms also post it as a field).
  document.addEventListener("htmx:configRequest", function (e) {
    if (csrf) e.detail.headers["X-CSRF-Token"] = csrf;
  });

  // Countdown to expiry, from the server's deadline (not the page's load time).
  var countdown = document.getElementById("countdown");
  if (countdown) {
    var expires = parseInt(countdown.getAttribute("data-expires"), 10) * 1000;
    var tick = function () {
      var left = Math.max(0, Math.round((expires - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      countdown.textContent = m + ":" + (s < 10 ? "0" : "") + s;
      if (left === 0) {
        clearInterval(timer);
        // The server expires the session within seconds; let the status update show it.
        setTimeout(pollOnce, 6000);
      }
    };
    var timer = setInterval(tick, 1000);
    tick();
  }

  // Copy buttons.
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-copy]");
    if (!button) return;
    var text = button.getAttribute("data-copy");
    var done = function () {
      var label = button.textContent;
      // The page's language: the server put the word on the page (templates/checkout.html).
      var page = document.getElementById("checkout");
      button.textContent = (page && page.getAttribute("data-copied")) || "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () {});
    }
  });

  // Final states: confirmed redirects to the merchant, the others reload into the final page.
  var leaving = false;
  function followStatus() {
    if (leaving) return;
    var status = document.getElementById("status");
    if (!status) return;
    var link = status.querySelector("[data-redirect]");
    if (link) {
      leaving = true;
      setTimeout(function () { window.location.assign(link.href); }, 1200);
      return;
    }
    var final = status.querySelector("[data-final]");
    if (final) {
      leaving = true;
      setTimeout(function () { window.location.reload(); }, 1500);
    }
  }
  document.addEventListener("htmx:afterSettle", followStatus);
  document.addEventListener("htmx:sseMessage", function () { setTimeout(followStatus, 50); });

  // Polling fallback when server-sent events are unavailable or keep failing.
  var polling = null;
  function pollOnce() {
    if (!window.htmx || !statusUrl) return;
    window.htmx.ajax("GET", statusUrl, { target: "#status", swap: "innerHTML" });
  }
  function startPolling() {
    if (polling) return;
    polling = setInterval(pollOnce, 3000);
  }
  if (!("EventSource" in window)) startPolling();
  var sseErrors = 0;
  document.addEventListener("htmx:sseError", function () {
    sseErrors += 1;
    if (sseErrors >= 2) startPolling();
  });
  // A payment started by the wallet script: check sooner than the next event.
  document.addEventListener("kassa:txSent", function () { setTimeout(pollOnce, 500); });
  window.kassaCheckout = { pollOnce: pollOnce, startPolling: startPolling };
  followStatus();
})();
