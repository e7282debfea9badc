/* The orchestrator page: one prompt to the chosen models over /api/orchestrate/stream, a card per
 * model filled as its answer arrives (latency, status, tokens), a live count; then "Synthesize"
 * streams the combined answer from /api/orchestrate/synthesize/stream into its own card.
 * Cancel aborts the fetch: the gateway then cancels the upstream calls still running. */
(function () {
  "use strict";
  var form = document.getElementById("orchestrator-form");
  if (!form) { return; }
  var promptBox = document.getElementById("orchestrator-prompt");
  var cards = document.getElementById("orchestrator-cards");
  var runButton = document.getElementById("orchestrator-run");
  var cancelButton = document.getElementById("orchestrator-cancel");
  var synthButton = document.getElementById("orchestrator-synthesize");
  var count = document.getElementById("orchestrator-count");
  var alertBox = document.getElementById("orchestrator-error");
  var maxModels = parseInt(form.dataset.maxModels, 10) || 6;
  var controller = null, prompt = "", answers = [];

  var el = window.StreamingPage.el;
  function showError(message) { window.StreamingPage.showAlert(alertBox, message); }
  function chosen() {
    return Array.prototype.map.call(form.querySelectorAll("input[name=models]:checked"), function (box) {
      return { id: box.value, name: box.parentElement.querySelector("span").textContent };
    });
  }
  function card(title, subtitle, extraClass) {
    var box = el("article", "card model-card" + (extraClass ? " " + extraClass : ""));
    var head = box.appendChild(el("header"));
    head.appendChild(el("h2", "", title));
    var pill = head.appendChild(el("span", "pill", "waiting"));
    var figures = box.appendChild(el("p", "figures", subtitle));
    var body = box.appendChild(el("div", "md"));
    var actions = box.appendChild(el("div", "answer-actions"));
    var copy = actions.appendChild(el("button", "small", "Copy"));
    copy.type = "button";
    copy.disabled = true;
    var parts = { box: box, pill: pill, figures: figures, body: body, copy: copy, text: "" };
    copy.addEventListener("click", function () { window.Markdown.copyText(parts.text, copy); });
    return parts;
  }
  function setStatus(parts, state) {
    parts.pill.textContent = state;
    parts.pill.className = "pill " + state;
    parts.box.dataset.status = state;
  }
  function statusOf(data) {
    if (data.status === "success") { return "success"; }
    return data.httpStatus === 408 || data.httpStatus === 504 ? "timeout" : "error";
  }
  function fill(parts, data) {
    var state = statusOf(data);
    setStatus(parts, state);
    var usage = data.usage || {};
    parts.figures.textContent = data.latencyMs + " ms · " + (usage.promptTokens || 0) + " in, " +
      (usage.completionTokens || 0) + " out, " + (usage.totalTokens || 0) + " tokens";
    if (state === "success") {
      parts.text = data.content;
      window.Markdown.renderInto(parts.body, data.content);
      parts.copy.disabled = false;
    } else {
      parts.body.replaceChildren(el("p", "alert", data.error + " (" + data.httpStatus + ")"));
    }
  }
  function setBusy(busy) {
    runButton.disabled = busy;
    cancelButton.hidden = !busy;
    synthButton.disabled = busy || !answers.length;
  }

  async function fanOut(models) {
    showError("");
    prompt = promptBox.value.trim();
    answers = [];
    cards.replaceChildren();
    var byId = {}, received = 0, total = models.length;
    models.forEach(function (m) {
      byId[m.id] = card(m.name, m.id);
      byId[m.id].box.dataset.model = m.id;
      cards.appendChild(byId[m.id].box);
    });
    count.textContent = "0 of " + total + " answered";
    controller = new AbortController();
    setBusy(true);
    try {
      await window.StreamingPage.run(form.dataset.url, { prompt: prompt, models: models.map(function (m) { return m.id; }) }, {
        signal: controller.signal,
        onEvent: function (name, data) {
          if (name === "model_response") {
            received += 1;
            if (byId[data.modelId]) { fill(byId[data.modelId], data); }
            if (data.status === "success") { answers.push({ modelId: data.modelId, name: data.name, content: data.content }); }
            count.textContent = received + " of " + total + " answered";
          } else if (name === "all_done") {
            count.textContent = data.successCount + " of " + data.totalModels + " succeeded in " + data.totalMs + " ms";
          } else if (name === "error") {
            showError(data.message);
          }
        }
      });
    } catch (error) {
      if (error.name === "AbortError") {
        count.textContent = "Cancelled: " + received + " of " + total + " answered";
        Object.keys(byId).forEach(function (id) {
          if (!byId[id].box.dataset.status) { setStatus(byId[id], "cancelled"); }
        });
      } else {
        showError(error.message);
        cards.replaceChildren();
        count.textContent = "";
      }
    } finally {
      controller = null;
      setBusy(false);
    }
  }

  async function synthesize() {
    showError("");
    var old = document.getElementById("synthesis-card");
    if (old) { old.remove(); }
    var parts = card("Synthesis", "One answer from " + answers.length + (answers.length === 1 ? " answer" : " answers"),
      "synthesis");
    parts.box.id = "synthesis-card";
    cards.prepend(parts.box);
    setStatus(parts, "writing");
    var view = window.Markdown.stream(parts.body), ended = false;
    var started = performance.now();
    controller = new AbortController();
    setBusy(true);
    try {
      await window.StreamingPage.run(form.dataset.synthesizeUrl, { prompt: prompt, responses: answers }, {
        signal: controller.signal,
        onEvent: function (name, data) {
          if (name === "token") {
            parts.text += data;
            view.update(parts.text);
          } else if (name === "done") {
            ended = true;
            view.finish(parts.text);
            setStatus(parts, "success");
            parts.figures.textContent = "Written by " + (data.modelName || data.modelId) + " in " +
              Math.round(performance.now() - started) + " ms";
            parts.copy.disabled = false;
          } else if (name === "error") {
            ended = true;
            view.finish(parts.text);
            setStatus(parts, "error");
            parts.box.appendChild(el("p", "alert", data.message));
          }
        }
      });
      if (!ended) { view.finish(parts.text); setStatus(parts, "error"); }
    } catch (error) {
      view.finish(parts.text);
      setStatus(parts, error.name === "AbortError" ? "cancelled" : "error");
      if (error.name !== "AbortError") { showError(error.message); }
    } finally {
      controller = null;
      setBusy(false);
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (controller) { return; }
    var models = chosen();
    if (!promptBox.value.trim()) { showError("Write a prompt first."); return; }
    if (!models.length) { showError("Choose at least one model."); return; }
    if (models.length > maxModels) { showError("Choose at most " + maxModels + " models."); return; }
    fanOut(models);
  });
  cancelButton.addEventListener("click", function () { if (controller) { controller.abort(); } });
  synthButton.addEventListener("click", function () { if (!controller && answers.length) { synthesize(); } });
})();
