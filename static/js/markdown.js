/* A small, safe Markdown renderer: the text is HTML-escaped first, so model output can
 * never inject markup; only the tags made here appear (p, br, strong, em, code, pre, a,
 * ul, ol, li, blockquote, h1-h6). Links keep only http(s) and mailto targets. */
(function () {
  "use strict";
  function escapeHtml(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  // Inline rules: code spans and links are set aside first (their HTML is final), then
  // emphasis runs over what is left, which is escaped text only, never a tag or attribute
  // made here. A set-aside piece is a NUL-delimited index; render() removes NULs from the source.
  function emphasis(text) {
    text = text.replace(/\*\*([^*\n]+)\*\*/g, "<strong>$1</strong>");
    text = text.replace(/(^|[^*\w])\*([^*\n]+)\*(?!\w)/g, "$1<em>$2</em>");
    return text.replace(/(^|[^_\w])_([^_\n]+)_(?!\w)/g, "$1<em>$2</em>");
  }
  function inline(text) {
    var kept = [];
    function keep(html) {
      kept.push(html);
      return "\u0000" + (kept.length - 1) + "\u0000";
    }
    function restore(html) {
      return html.replace(/\u0000(\d+)\u0000/g, function (_, i) { return restore(kept[+i]); });
    }
    text = text.replace(/`([^`\n]+)`/g, function (_, code) { return keep("<code>" + code + "</code>"); });
    text = text.replace(/\[([^\]\n]+)\]\(((?:https?:\/\/|mailto:)[^\s)\u0000]+)\)/g, function (_, label, href) {
      return keep('<a href="' + href + '" rel="noopener noreferrer nofollow" target="_blank">' +
        emphasis(label) + "</a>");
    });
    return restore(emphasis(text));
  }
  function render(source) {
    var text = String(source || "").replace(/\u0000/g, "\uFFFD");  // NUL delimits set-aside pieces
    var lines = escapeHtml(text).replace(/\r\n?/g, "\n").split("\n");
    var out = [], para = [], list = null, i = 0;
    function flushPara() {
      if (para.length) { out.push("<p>" + para.map(inline).join("<br>") + "</p>"); para = []; }
    }
    function flushList() {
      if (list) { out.push("<" + list.tag + ">" + list.items.map(function (item) {
        return "<li>" + inline(item) + "</li>"; }).join("") + "</" + list.tag + ">"); list = null; }
    }
    while (i < lines.length) {
      var line = lines[i], m;
      if ((m = line.match(/^\s*```\s*([\w+-]*)\s*$/))) {
        flushPara(); flushList();
        var code = [];
        i++;
        while (i < lines.length && !/^\s*```\s*$/.test(lines[i])) { code.push(lines[i]); i++; }
        var lang = m[1] ? ' class="language-' + m[1] + '"' : "";
        out.push("<pre><code" + lang + ">" + code.join("\n") + "</code></pre>");
        i++;
        continue;
      }
      if ((m = line.match(/^(#{1,6})\s+(.*)$/))) {
        flushPara(); flushList();
        out.push("<h" + m[1].length + ">" + inline(m[2]) + "</h" + m[1].length + ">");
      } else if ((m = line.match(/^\s*[-*+]\s+(.*)$/)) || (m = line.match(/^\s*\d+[.)]\s+(.*)$/))) {
        flushPara();
        var tag = /^\s*\d/.test(line) ? "ol" : "ul";
        if (list && list.tag !== tag) { flushList(); }
        if (!list) { list = { tag: tag, items: [] }; }
        list.items.push(m[1]);
      } else if ((m = line.match(/^&gt;\s?(.*)$/))) {
        flushPara(); flushList();
        out.push("<blockquote>" + inline(m[1]) + "</blockquote>");
      } else if (/^\s*$/.test(line)) {
        flushPara(); flushList();
      } else {
        flushList();
        para.push(line);
      }
      i++;
    }
    flushPara(); flushList();
    return out.join("");
  }
  function renderInto(element, source) {
    element.innerHTML = render(source);
  }
  function renderAll(root) {
    (root || document).querySelectorAll("[data-md]").forEach(function (el) {
      if (el.dataset.mdDone) { return; }
      el.dataset.mdDone = "1";
      renderInto(el, el.textContent);
    });
  }
  window.Markdown = { render: render, renderInto: renderInto, renderAll: renderAll, escapeHtml: escapeHtml };
  document.addEventListener("DOMContentLoaded", function () { renderAll(document); });
  document.addEventListener("htmx:afterSwap", function (event) { renderAll(event.target); });
})();
