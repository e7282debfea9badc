/* Page helpers: light/dark theme switch, copy buttons, the phone menu and live filter forms. */
(function () {
  "use strict";
  var root = document.documentElement;
  function applyTheme(theme) {
    if (theme === "light" || theme === "dark") { root.dataset.theme = theme; } else { delete root.dataset.theme; }
  }
  function isDark() {
    return root.dataset.theme ? root.dataset.theme === "dark"
      : window.matchMedia("(prefers-color-scheme: dark)").matches;
  }
  try { applyTheme(localStorage.getItem("theme")); } catch (e) { /* storage blocked: follow the system */ }
  // Plain forms that need a confirmation say so with data-confirm (no inline handlers: the CSP forbids them).
  document.addEventListener("submit", function (event) {
    var message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) { event.preventDefault(); }
  }, true);
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-theme-toggle]");
    if (toggle) {
      var next = isDark() ? "light" : "dark";
      applyTheme(next);
      try { localStorage.setItem("theme", next); } catch (e) { /* ignore */ }
      toggle.setAttribute("aria-pressed", String(next === "dark"));
      return;
    }
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.getElementById(copy.dataset.copy);
      var text = source ? (source.value || source.textContent) : "";
      var done = function () {
        var label = copy.textContent;
        copy.textContent = "Copied";
        setTimeout(function () { copy.textContent = label; }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done);
      } else if (source && source.select) {
        source.select(); document.execCommand("copy"); done();
      }
    }
  });

  // ---------------------------------------------------------------- the theme toggle says the theme at load
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-theme-toggle]").forEach(function (toggle) {
      toggle.setAttribute("aria-pressed", String(isDark()));
    });
  });

  // ---------------------------------------------------------------- the phone menu (the top bar collapses)
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-nav-toggle]");
    if (!button) { return; }
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    var bar = button.closest(".topbar");
    if (bar) { bar.classList.toggle("open", open); }
  });

  // ---------------------------------------------------------------- live filter forms: one request per change
  // A form with data-live-filter and hx-trigger="filter" gets one "filter" event for a burst of
  // change and submit events (Enter in a field fires both).
  var pendingFilter = null;
  function queueFilter(form, event) {
    if (!window.htmx) { return; }  // htmx not loaded: the form submits as a plain GET
    if (event.type === "submit") { event.preventDefault(); }
    if (pendingFilter) { clearTimeout(pendingFilter); }
    pendingFilter = setTimeout(function () { pendingFilter = null; window.htmx.trigger(form, "filter"); }, 60);
  }
  ["change", "submit"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var form = event.target.closest && event.target.closest("form[data-live-filter]");
      if (form && !event.defaultPrevented) { queueFilter(form, event); }
    });
  });
})();
