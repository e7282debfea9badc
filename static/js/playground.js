/* The playground composer: send a message, read the answer as SSE over POST with
 * fetch() + ReadableStream, render it as safe Markdown while it streams; stop aborts
 * the request, which makes the gateway cancel the upstream call. On a new page the
 * first message creates the conversation (POST /api/conversations) with the picked
 * model. Every answer has Copy; the last one Regenerate (Retry when it was stopped,
 * cut off or broke off), which answers the last message again ({"regenerate": true}). */
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
  var picker = document.getElementById("model");
  var controller = null;
  var FINISH_NOTES = {
    stopped: "Stopped: this answer is incomplete.",
    length: "Cut off: the model reached its length limit.",
    failed: "Failed: the answer broke off."
  };

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  function button(label, attribute) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "small";
    b.textContent = label;
    b.setAttribute(attribute, "");
    return b;
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
  // The actions under an answer: Copy always; Regenerate (or Retry) on the last answer only.
  function finishAnswer(item, finish) {
    var body = item.querySelector(".md");
    if (!body.id) { body.id = "msg-" + (item.dataset.messageId || "new-" + Date.now()); }
    item.querySelectorAll(".finish-note, .message-actions").forEach(function (el) { el.remove(); });
    if (finish) {
      item.classList.add("unfinished");
      item.dataset.finish = finish;
      var note = document.createElement("p");
      note.className = "finish-note";
      note.setAttribute("data-testid", "finish-note");
      note.textContent = FINISH_NOTES[finish] || FINISH_NOTES.failed;
      item.appendChild(note);
    }
    thread.querySelectorAll("[data-regenerate]").forEach(function (el) { el.remove(); });
    var actions = document.createElement("div");
    actions.className = "message-actions";
    var copy = button("Copy", "data-copy");
    copy.dataset.copy = body.id;
    actions.appendChild(copy);
    actions.appendChild(button(finish ? "Retry" : "Regenerate", "data-regenerate"));
    item.appendChild(actions);
  }
  function setBusy(busy) {
    sendButton.disabled = busy;
    stopButton.hidden = !busy;
    input.setAttribute("aria-busy", String(busy));
    thread.querySelectorAll("[data-regenerate]").forEach(function (el) { el.disabled = busy; });
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
  function setTitle(title) {
    var heading = document.getElementById("conversation-title");
    if (heading) { heading.textContent = title; }
    var link = document.querySelector("[data-conversation-link].current");
    if (link) { link.textContent = title; }
    document.title = title + " · Playground · LLM Gateway";
  }

  // ---------------------------------------------------------------- the first message creates the conversation
  function badges() {
    var box = document.getElementById("model-badges");
    if (!box || !picker) { return; }
    var option = picker.options[picker.selectedIndex];
    box.textContent = "";
    if (!option) { return; }
    if (option.dataset.free) { box.appendChild(badge("free", "on", "free")); }
    var context = parseInt(option.dataset.context, 10);
    if (context) {
      var size = context >= 1000000 ? (Math.round(context / 100000) / 10) + "M"
        : context >= 1000 ? Math.round(context / 1000) + "k" : String(context);
      box.appendChild(badge(size + " context", "", "context"));
    }
  }
  function badge(text, extra, name) {
    var span = document.createElement("span");
    span.className = "badge" + (extra ? " " + extra : "");
    span.dataset.badge = name;
    span.textContent = text;
    return span;
  }
  if (picker) { picker.addEventListener("change", badges); badges(); }

  async function createConversation() {
    var temperature = form.elements.namedItem("temperature").value;
    var response = await fetch(form.dataset.createUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({
        model: picker.value, systemPrompt: form.elements.namedItem("system_prompt").value,
        temperature: temperature === "" ? null : Number(temperature)
      })
    });
    var data = await response.json().catch(function () { return {}; });
    if (!response.ok) { throw new Error(data.message || "The conversation could not be started (" + response.status + ")."); }
    form.dataset.streamUrl = "/api/conversations/" + data.id + "/messages/stream";
    delete form.dataset.createUrl;
    form.action = "/playground/" + data.id + "/send/";
    history.replaceState(null, "", "/playground/" + data.id + "/");
    // The picker and the settings belong to the new conversation now: show its model instead.
    var name = picker.options[picker.selectedIndex].textContent;
    var pickerRow = form.querySelector(".model-picker");
    var settings = form.querySelector("details.settings");
    if (settings) { settings.remove(); }
    if (pickerRow) { pickerRow.remove(); }
    var head = document.querySelector(".chat-head");
    var modelBadge = badge(name, "", "model");
    modelBadge.title = "A conversation keeps its model; start a new one for another model.";
    head.appendChild(modelBadge);
    var remove = document.createElement("form");  // as the server renders it for a saved conversation
    remove.method = "post";
    remove.action = "/playground/" + data.id + "/delete/";
    remove.style.marginLeft = "auto";
    remove.dataset.confirm = "Delete this conversation?";
    var token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrfmiddlewaretoken";
    token.value = form.elements.namedItem("csrfmiddlewaretoken").value;
    remove.appendChild(token);
    var removeButton = document.createElement("button");
    removeButton.type = "submit";
    removeButton.className = "small danger";
    removeButton.textContent = "Delete";
    remove.appendChild(removeButton);
    head.appendChild(remove);
    var list = document.querySelector(".sidebar ul");
    if (list) {
      var none = list.querySelector("li.muted");
      if (none) { none.remove(); }
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = "/playground/" + data.id + "/";
      a.className = "current";
      a.setAttribute("aria-current", "page");
      a.dataset.conversationLink = "";
      a.textContent = "New conversation";
      li.appendChild(a);
      list.insertBefore(li, list.firstChild);
    }
  }

  // ---------------------------------------------------------------- one answer, streamed
  async function stream(payload, mine) {
    showError("");
    var answer = bubble("assistant");
    answer.item.classList.add("streaming");
    answer.body.setAttribute("aria-live", "polite");
    var text = "", scheduled = false, finished = false, finish = "";
    function paint() {
      scheduled = false;
      window.Markdown.renderInto(answer.body, text);
      answer.item.scrollIntoView({ block: "end" });
    }
    function undo() {  // nothing was answered: the thread is as it was, the message back in the box
      answer.item.remove();
      if (mine) { mine.item.remove(); input.value = payload.content; }
    }
    controller = new AbortController();
    setBusy(true);
    try {
      if (form.dataset.createUrl) { await createConversation(); }
      var response = await fetch(form.dataset.streamUrl, {
        method: "POST", credentials: "same-origin", signal: controller.signal,
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), "Accept": "text/event-stream" },
        body: JSON.stringify(payload)
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
            finish = data.finish || "";
            if (data.title) { setTitle(data.title); }
            answer.item.dataset.messageId = data.messageId;
          } else if (name === "error") {
            finished = true;
            finish = "failed";
            if (!text) { undo(); }
            showError(data.message);
          }
        });
      }
      if (!finished && !text) { throw new Error("The answer ended early. Send again."); }
      if (!finished) { finish = "failed"; }
    } catch (error) {
      finish = error.name === "AbortError" ? "stopped" : "failed";
      if (!text) { undo(); }
      if (error.name === "AbortError") { status.textContent = "Stopped."; } else { showError(error.message); }
    } finally {
      paint();
      answer.item.classList.remove("streaming");
      answer.body.removeAttribute("aria-live");
      if (answer.item.isConnected) { finishAnswer(answer.item, finish); }
      controller = null;
      setBusy(false);
      if (status.textContent === "The assistant is answering…") { status.textContent = finished && !alertBox.textContent ? "Answer complete." : ""; }
      input.focus();
    }
    return answer.item.isConnected ? answer.item : null;
  }

  function send(content) {
    var mine = bubble("user");
    mine.body.textContent = content;
    return stream({ content: content }, mine);
  }
  function regenerate() {
    // The answers after the last message go; the new one takes their place (the server replaces them too).
    var items = Array.prototype.slice.call(thread.querySelectorAll("li.message"));
    var lastUser = -1;
    items.forEach(function (item, i) { if (item.classList.contains("user")) { lastUser = i; } });
    if (lastUser < 0) { return; }
    var removed = items.slice(lastUser + 1);
    removed.forEach(function (item) { item.hidden = true; });
    stream({ regenerate: true }, null).then(function (answer) {
      removed.forEach(function (item) { if (answer) { item.remove(); } else { item.hidden = false; } });
      if (!answer && removed.length) { finishAnswer(removed[removed.length - 1], removed[removed.length - 1].dataset.finish || ""); }
    });
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
  thread.addEventListener("click", function (event) {
    if (event.target.closest("[data-regenerate]") && !controller) { regenerate(); }
  });
})();
