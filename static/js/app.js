/* Page helpers: light/dark theme switch and copy buttons. */
(function () {
  "use strict";
  var root = document.documentElement;
  function applyTheme(theme) {
    if (theme === "light" || theme === "dark") { root.dataset.theme = theme; } else { delete root.dataset.theme; }
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
      var dark = root.dataset.theme ? root.dataset.theme === "dark"
        : window.matchMedia("(prefers-color-scheme: dark)").matches;
      var next = dark ? "light" : "dark";
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
})();
