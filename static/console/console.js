/* Admin console helpers: tabs over one page's panels, "Edit" buttons that fill a form, "select all" boxes. */
(function () {
  "use strict";

  // ---------------------------------------------------------------- tabs ([data-tabs] links, [data-tab-panel] panels)
  // One panel shows: the one holding the element the address's #fragment names, else the first link's.
  function showTab(nav) {
    var links = Array.prototype.slice.call(nav.querySelectorAll("a[href^='#']"));
    var panels = document.querySelectorAll("[data-tab-panel]");
    var target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
    var panel = target && target.closest("[data-tab-panel]");
    if (!panel) {
      var first = document.getElementById(links[0].getAttribute("href").slice(1));
      panel = first && first.closest("[data-tab-panel]");
    }
    panels.forEach(function (p) { p.hidden = p !== panel; });
    links.forEach(function (link) {
      var owner = document.getElementById(link.getAttribute("href").slice(1));
      if (owner && owner.closest("[data-tab-panel]") === panel) { link.setAttribute("aria-current", "true"); }
      else { link.removeAttribute("aria-current"); }
    });
  }
  function allTabs() { document.querySelectorAll("[data-tabs]").forEach(showTab); }
  document.addEventListener("DOMContentLoaded", allTabs);
  window.addEventListener("hashchange", allTabs);

  document.addEventListener("click", function (event) {
    // ------------------------------------------------------------ "Edit": copy data-* into the form's fields
    var fill = event.target.closest("[data-fill-form]");
    if (fill) {
      var form = document.getElementById(fill.dataset.fillForm);
      if (!form) { return; }
      Object.keys(fill.dataset).forEach(function (name) {
        var field = form.elements.namedItem(name);
        if (field && name !== "fillForm") { field.value = fill.dataset[name]; }
      });
      var firstField = form.querySelector("input:not([type=hidden]), textarea");
      if (firstField) { firstField.focus(); }
      return;
    }
    // ------------------------------------------------------------ "select all" for the boxes of one form
    var all = event.target.closest("[data-check-all]");
    if (all) {
      document.querySelectorAll("input[type=checkbox][form='" + all.dataset.checkAll + "']").forEach(function (box) {
        box.checked = all.checked;
      });
    }
  });
})();
