/* The agent page: ask /api/agent/chat, show a status line per model tried or skipped, the tool
 * steps under the answer (<details>), the answer as Markdown. The conversation is kept in
 * sessionStorage and its last turns are sent as history, so follow-up questions work. */
(function () {
  "use strict";
  var form = document.getElementById("agent-form");
  if (!form) { return; }
  var KEY = "agent-history", MAX_HISTORY = 20, MAX_CONTENT = 8000;
  var input = document.getElementById("agent-input");
  var thread = document.getElementById("agent-thread");
  var sendButton = document.getElementById("agent-send");
  var stopButton = document.getElementById("agent-stop");
  var alertBox = document.getElementById("agent-error");
  var status = document.getElementById("agent-status");
  var controller = null;

  function load() {
    try { return JSON.parse(sessionStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function save(turns) {
    try { sessionStorage.setItem(KEY, JSON.stringify(turns)); } catch (e) { /* storage full or blocked */ }
  }
  var el = window.StreamingPage.el;
  function showError(message) { window.StreamingPage.showAlert(alertBox, message); }
  function bubble(role) {
    var empty = document.getElementById("agent-empty");
    if (empty) { empty.remove(); }
    var item = el("li", "message " + role);
    item.appendChild(el("span", "who", role === "user" ? "You" : "Agent"));
    thread.appendChild(item);
    return item;
  }
  function userTurn(text) {
    bubble("user").appendChild(el("div", "md", text));
  }
  function agentTurn() {
    var item = bubble("assistant");
    var parts = {
      item: item,
      lines: item.appendChild(el("ul", "status-lines")),
      answer: item.appendChild(el("div", "md")),
      steps: null
    };
    parts.answer.dataset.answer = "";
    return parts;
  }
  function statusLine(parts, data) {
    var text = data.type === "trying"
      ? "Trying " + data.model + " (" + data.attempt + " of " + data.total + ")"
      : "Skipped " + data.model + ": " + data.reason;
    var line = el("li", data.type, text);
    parts.lines.appendChild(line);
  }
  function pretty(value) {
    return typeof value === "string" ? value : JSON.stringify(value, null, 2);
  }
  function showSteps(parts, steps) {
    if (!steps || !steps.length) { return; }
    var box = el("details", "tool-steps");
    box.appendChild(el("summary", "", steps.length === 1 ? "1 tool step" : steps.length + " tool steps"));
    var list = box.appendChild(el("ol"));
    steps.forEach(function (step) {
      var item = list.appendChild(el("li"));
      item.appendChild(el("strong", "", step.name));
      item.appendChild(el("div", "muted", "Arguments"));
      item.appendChild(el("pre", "", pretty(step.arguments)));
      item.appendChild(el("div", "muted", "Result"));
      item.appendChild(el("pre", "", pretty(step.result)));
    });
    parts.item.appendChild(box);
  }
  function answerActions(parts, text) {
    var row = parts.item.appendChild(el("div", "answer-actions"));
    var copy = row.appendChild(el("button", "small", "Copy"));
    copy.type = "button";
    copy.addEventListener("click", function () { window.Markdown.copyText(text, copy); });
  }
  function finished(parts, reply, steps) {
    window.Markdown.renderInto(parts.answer, reply);
    showSteps(parts, steps);
    answerActions(parts, reply);
  }
  function failed(parts, message) {
    parts.item.classList.add("failed");
    parts.answer.appendChild(el("p", "alert", message));
  }
  function restore() {
    load().forEach(function (turn) {
      if (turn.role === "user") { userTurn(turn.content); return; }
      var parts = agentTurn();
      (turn.statuses || []).forEach(function (s) { statusLine(parts, s); });
      finished(parts, turn.content, turn.toolSteps);
    });
  }
  function setBusy(busy) {
    sendButton.disabled = busy;
    stopButton.hidden = !busy;
    status.textContent = busy ? "The agent is working…" : "";
  }

  async function ask(question) {
    showError("");
    var turns = load();
    var history = turns.slice(-MAX_HISTORY).map(function (t) {
      return { role: t.role, content: String(t.content).slice(0, MAX_CONTENT) };
    });
    userTurn(question);
    var parts = agentTurn();
    parts.item.classList.add("streaming");
    var statuses = [], done = null;
    controller = new AbortController();
    setBusy(true);
    try {
      await window.StreamingPage.run(form.dataset.url, { question: question, history: history }, {
        signal: controller.signal,
        onEvent: function (name, data) {
          if (name === "status") { statuses.push(data); statusLine(parts, data); }
          else if (name === "tool_step") { parts.lines.appendChild(el("li", "tool", "Looked up " + data.name)); }
          else if (name === "done") { done = data; }
          else if (name === "error") { failed(parts, data.message + (data.status ? " (" + data.status + ")" : "")); }
        }
      });
      if (done) {
        finished(parts, done.reply, done.toolSteps);
        turns.push({ role: "user", content: question });
        turns.push({ role: "assistant", content: done.reply, toolSteps: done.toolSteps, statuses: statuses });
        save(turns);
      } else if (!parts.item.classList.contains("failed")) {
        failed(parts, "The answer ended early. Ask again.");
      }
    } catch (error) {
      if (error.name === "AbortError") { failed(parts, "Stopped."); }
      else { failed(parts, error.message + (error.status ? " (" + error.status + ")" : "")); }
      input.value = question;
    } finally {
      parts.item.classList.remove("streaming");
      controller = null;
      setBusy(false);
      input.focus();
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question || controller) { return; }
    input.value = "";
    ask(question);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  stopButton.addEventListener("click", function () { if (controller) { controller.abort(); } });
  document.getElementById("agent-reset").addEventListener("click", function () {
    if (controller) { controller.abort(); }
    save([]);
    thread.replaceChildren(el("li", "empty", "A new conversation: ask anything about your models and usage."));
    thread.firstChild.id = "agent-empty";
    showError("");
    input.focus();
  });
  restore();
})();
