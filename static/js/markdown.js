/* Model output as Markdown, one module for every page (playground, agent, orchestrator).
 *
 * marked (GFM: tables, lists, fenced code) parses; raw HTML in the source is shown as
 * text, never parsed as markup; highlight.js colours fenced code (its "common" build),
 * each block with a language label and a Copy button; DOMPurify then sanitises the result
 * with an allowlist of tags and attributes, and links keep only http, https and mailto
 * targets (any other link stays as its source text). Streaming views re-render the whole
 * text at most every STREAM_MS through Markdown.stream(element).
 * Vendored: static/vendor/marked-18.2.1.umd.js, purify-3.5.0.min.js, highlight-11.12.0.min.js. */
(function () {
  "use strict";
  var STREAM_MS = 80;
  var SAFE_URL = /^(?:https?:\/\/|mailto:)/i;
  var TAGS = ["p", "br", "hr", "strong", "em", "del", "code", "pre", "span", "div", "a", "ul", "ol", "li",
    "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "button",
    "input"];
  var ATTRS = ["href", "title", "class", "type", "checked", "disabled", "start", "aria-label",
    "data-code-copy", "rel", "target"];

  function escapeHtml(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  function languageOf(info) {
    var word = String(info || "").trim().split(/\s+/)[0].toLowerCase();
    return /^[\w+#.-]{1,30}$/.test(word) ? word : "";
  }
  function highlighted(code, language) {
    var hljs = window.hljs;
    if (hljs && language && hljs.getLanguage(language)) {
      try { return hljs.highlight(code, { language: language, ignoreIllegals: true }).value; } catch (e) { /* plain */ }
    }
    return escapeHtml(code);
  }

  var renderer = {
    html: function (token) { return escapeHtml(token.text); },  // model output never becomes markup
    code: function (token) {
      var language = languageOf(token.lang);
      var code = String(token.text || "").replace(/\n$/, "");
      return '<div class="code-block"><div class="code-head"><span class="code-lang">' +
        escapeHtml(language || "text") + '</span><button type="button" class="code-copy" data-code-copy ' +
        'aria-label="Copy code">Copy</button></div><pre><code class="hljs' +
        (language ? " language-" + escapeHtml(language) : "") + '">' + highlighted(code, language) +
        "</code></pre></div>\n";
    },
    tablecell: function (token) {  // alignment as a class: the sanitiser keeps no presentational attributes
      var tag = token.header ? "th" : "td";
      var align = /^(left|center|right)$/.test(token.align || "") ? ' class="align-' + token.align + '"' : "";
      return "<" + tag + align + ">" + this.parser.parseInline(token.tokens) + "</" + tag + ">\n";
    },
    link: function (token) {
      if (!SAFE_URL.test(String(token.href || "").trim())) { return escapeHtml(token.raw); }
      var title = token.title ? ' title="' + escapeHtml(token.title) + '"' : "";
      return '<a href="' + escapeHtml(token.href) + '"' + title + ">" + this.parser.parseInline(token.tokens) + "</a>";
    },
    image: function (token) {  // no remote images (the CSP allows none): a link to it, when it is a safe URL
      if (!SAFE_URL.test(String(token.href || "").trim())) { return escapeHtml(token.raw); }
      return '<a href="' + escapeHtml(token.href) + '">' + escapeHtml(token.text || token.href) + "</a>";
    }
  };
  var parser = null;
  function markedParser() {
    if (!parser && window.marked) {
      parser = new window.marked.Marked({ gfm: true, breaks: true, async: false });
      parser.use({ renderer: renderer });
    }
    return parser;
  }
  var hooked = false;
  function purify(html) {
    var purifier = window.DOMPurify;
    if (!hooked) {
      hooked = true;
      purifier.addHook("afterSanitizeAttributes", function (node) {
        if (node.tagName === "A") {
          node.setAttribute("rel", "noopener noreferrer nofollow");
          node.setAttribute("target", "_blank");
        }
        if (node.tagName === "INPUT" && node.getAttribute("type") !== "checkbox") { node.remove(); }
      });
    }
    return purifier.sanitize(html, {
      ALLOWED_TAGS: TAGS, ALLOWED_ATTR: ATTRS, ALLOWED_URI_REGEXP: SAFE_URL, ALLOW_DATA_ATTR: false
    });
  }

  function render(source) {
    var text = String(source || "").replace(/\u0000/g, "\uFFFD").replace(/\r\n?/g, "\n");
    var md = markedParser();
    if (!md || !window.DOMPurify) { return "<p>" + escapeHtml(text).replace(/\n/g, "<br>") + "</p>"; }
    return purify(md.parse(text));
  }
  function renderInto(element, source) {
    element.innerHTML = render(source);
    element.classList.add("md");
  }
  function renderAll(root) {
    (root || document).querySelectorAll("[data-md]").forEach(function (el) {
      if (el.dataset.mdDone) { return; }
      el.dataset.mdDone = "1";
      renderInto(el, el.textContent);
    });
  }
  /* A live view of a growing text: update(text) re-renders at most every STREAM_MS; finish(text) renders now. */
  function stream(element) {
    var latest = "", timer = null, last = 0;
    function paint() {
      timer = null;
      last = Date.now();
      renderInto(element, latest);
    }
    return {
      update: function (text) {
        latest = text;
        if (timer) { return; }
        timer = setTimeout(paint, Math.max(0, STREAM_MS - (Date.now() - last)));
      },
      finish: function (text) {
        if (text !== undefined) { latest = text; }
        if (timer) { clearTimeout(timer); }
        paint();
      }
    };
  }
  function copyText(text, button) {
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else {
      fallbackCopy(text);
      done();
    }
  }
  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
    area.remove();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-code-copy]");
    if (!button) { return; }
    var code = button.closest(".code-block").querySelector("pre code");
    copyText(code ? code.textContent : "", button);
  });
  window.Markdown = { render: render, renderInto: renderInto, renderAll: renderAll, stream: stream,
    escapeHtml: escapeHtml, copyText: copyText };
  document.addEventListener("DOMContentLoaded", function () { renderAll(document); });
  document.addEventListener("htmx:afterSwap", function (event) { renderAll(event.target); });
})();
