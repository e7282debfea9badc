/* The Django admin's "Sync models now" button (the catalog's change list): POST /api/admin/sync-models,
 * say what changed, reload. A static file because the site's Content-Security-Policy allows no inline script. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("sync-models");
    if (!button) { return; }
    button.addEventListener("click", async function (event) {
      event.preventDefault();
      var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
      var status = document.getElementById("sync-status");
      status.textContent = "Syncing…";
      try {
        var response = await fetch(button.dataset.url, {
          method: "POST", credentials: "same-origin", body: "{}",
          headers: { "X-CSRFToken": match ? decodeURIComponent(match[1]) : "", "Content-Type": "application/json" }
        });
        var body = await response.json().catch(function () { return {}; });
        if (!response.ok) { status.textContent = body.message || "The sync failed (" + response.status + ")."; return; }
        status.textContent = "Added " + body.added.length + ", updated " + body.updated.length + ", disabled " +
          body.disabled.length + ". Reloading…";
        setTimeout(function () { window.location.reload(); }, 800);
      } catch (error) {
        status.textContent = "The sync failed: " + error.message;
      }
    });
  });
})();
