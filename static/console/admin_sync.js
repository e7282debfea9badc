/* The Django admin's "Sync models now" on the catalog list (POST /api/admin/sync-models). */
(function () {
  "use strict";
  var link = document.getElementById("sync-models");
  if (!link) { return; }
  link.addEventListener("click", async (event) => {
    event.preventDefault();
    const token = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="))?.split("=")[1] || "";
    const status = document.getElementById("sync-status");
    status.textContent = "Syncing…";
    const response = await fetch(link.dataset.url, {method: "POST", credentials: "same-origin",
      headers: {"X-CSRFToken": token, "Content-Type": "application/json"}, body: "{}"});
    const body = await response.json();
    status.textContent = response.ok
      ? `Added ${body.added.length}, updated ${body.updated.length}, disabled ${body.disabled.length}. Reloading…`
      : body.message;
    if (response.ok) setTimeout(() => window.location.reload(), 800);
  });
})();
