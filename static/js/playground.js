/* The playground composer: send a message, read the answer as SSE over POST with
 * fetch() + ReadableStream, render it as safe Markdown while it streams; stop aborts
 * the request, which makes the gateway cancel the upstream call. */
(function () {
  "use strict";
  var form = document.getElementById("composer");
  if (!form) { return; }
  var input = document.getElementById("composer-input");
  var sendButton = document.getElementById("send-button");
  var stopButton = document.getElementById("stop-button");
  var thread = document.getElementById("messages");
  var alertBox = document.getElementById("composer-error");
  var status = document.getElementById("stream-status");
  var controller = null;

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  function bubble(role) {
    var item = document.createElement("li");
    item.className = "message " + role;
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = role === "user" ? "You" : "Assistant";
    var body = document.createElement("div");
    body.className = "md";
    item.appendChild(who);
    item.appendChild(body);
    var empty = document.getElementById("empty-thread");
    if (empty) { empty.remove(); }
    thread.appendChild(item);
    return { item: item, body: body };
  }
  function setBusy(busy) {
    sendButton.disabled = busy;
    stopButton.hidden = !busy;
    input.setAttribute("aria-busy", String(busy));
    if (busy) { status.textContent = "The assistant is answering…"; }
  }
  function showError(message) {
    alertBox.textContent = message;
    alertBox.hidden = !message;
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

  async function send(content) {
    showError("");
    var mine = bubble("user");
    mine.body.textContent = content;
    var answer = bubble("assistant");
    answer.item.classList.add("streaming");
    answer.body.setAttribute("aria-live", "polite");
    var text = "", scheduled = false, finished = false;
    function paint() {
      scheduled = false;
      window.Markdown.renderInto(answer.body, text);
      answer.item.scrollIntoView({ block: "end" });
    }
    controller = new AbortController();
    setBusy(true);
    try {
      var response = await fetch(form.dataset.streamUrl, {
        method: "POST", credentials: "same-origin", signal: controller.signal,
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), "Accept": "text/event-stream" },
        body: JSON.stringify({ content: content })
      });
      if (!response.ok) {
        var problem = await response.json().catch(function () { return {}; });
        throw new Error(problem.message || "The message could not be sent (" + response.status + ").");
      }
      var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "";
      while (true) {
        var chunk = await reader.read();
        if (chunk.done) { break; }
        buffer = parseEvents(buffer + decoder.decode(chunk.value, { stream: true }), function (name, data) {
          if (name === "token") {
            text += data;
            if (!scheduled) { scheduled = true; requestAnimationFrame(paint); }
          } else if (name === "done") {
            finished = true;
            if (data.title) {
              var heading = document.getElementById("conversation-title");
              if (heading) { heading.textContent = data.title; }
              var link = document.querySelector("[data-conversation-link].current");
              if (link) { link.textContent = data.title; }
            }
            answer.item.dataset.messageId = data.messageId;
          } else if (name === "error") {
            finished = true;
            if (!text) { mine.item.remove(); answer.item.remove(); input.value = content; }
            showError(data.message);
          }
        });
      }
      if (!finished && !text) { throw new Error("The answer ended early. Send again."); }
    } catch (error) {
      if (error.name === "AbortError") {
        if (!text) { mine.item.remove(); answer.item.remove(); input.value = content; }
        status.textContent = "Stopped.";
      } else {
        if (!text) { mine.item.remove(); answer.item.remove(); input.value = content; }
        showError(error.message);
      }
    } finally {
      paint();
      answer.item.classList.remove("streaming");
      answer.body.removeAttribute("aria-live");
      controller = null;
      setBusy(false);
      if (status.textContent === "The assistant is answering…") { status.textContent = finished && !alertBox.textContent ? "Answer complete." : ""; }
      input.focus();
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var content = input.value.trim();
    if (!content || controller) { return; }
    input.value = "";
    send(content);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  stopButton.addEventListener("click", function () { if (controller) { controller.abort(); } });
})();
