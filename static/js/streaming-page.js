/* What the agent and orchestrator pages share: server-sent events over POST (EventSource cannot
 * POST) with fetch() + ReadableStream, and two DOM helpers.
 * StreamingPage.run(url, body, {signal, onEvent}) resolves when the stream ends; a refusal before
 * the stream (400, 401, 403, 409...) rejects with an Error whose .status is the HTTP status. */
(function () {
  "use strict";
  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  function parseEvents(buffer, onEvent) {
    var parts = buffer.split("\n\n");
    var rest = parts.pop();
    parts.forEach(function (block) {
      var name = "message", data = [];
      block.split("\n").forEach(function (line) {
        if (line.indexOf("event:") === 0) { name = line.slice(6).trim(); }
        else if (line.indexOf("data:") === 0) { data.push(line.slice(5).replace(/^ /, "")); }
      });
      if (data.length) { onEvent(name, JSON.parse(data.join("\n"))); }
    });
    return rest;
  }
  async function run(url, body, options) {
    var response = await fetch(url, {
      method: "POST", credentials: "same-origin", signal: options.signal,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), "Accept": "text/event-stream" },
      body: JSON.stringify(body)
    });
    if (!response.ok) {
      var problem = await response.json().catch(function () { return {}; });
      var error = new Error(problem.message || "The request failed (" + response.status + ").");
      error.status = response.status;
      throw error;
    }
    var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "";
    while (true) {
      var chunk = await reader.read();
      if (chunk.done) { break; }
      buffer = parseEvents(buffer + decoder.decode(chunk.value, { stream: true }), options.onEvent);
    }
  }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function showAlert(box, message) {
    box.textContent = message;
    box.hidden = !message;
  }
  window.StreamingPage = { run: run, csrfToken: csrfToken, el: el, showAlert: showAlert };
})();
