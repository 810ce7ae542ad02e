// Try-a-survey: drives a simulated call on the server one turn at a time.
(function () {
  "use strict";
  const root = document.getElementById("tryit");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const csrf = root.dataset.csrf;
  const lang = root.dataset.lang;
  let callId = null;
  let keys = "";
  let keyTimer = null;
  let busy = false;
  let recorder = null;

  function bubble(text, who) {
    const p = document.createElement("p");
    p.className = "bubble " + who;
    p.textContent = text;
    $("log").appendChild(p);
    $("log").scrollTop = $("log").scrollHeight;
  }

  function speak(lines) {
    if (!$("speak").checked || !("speechSynthesis" in window)) return;
    window.speechSynthesis.cancel();
    for (const line of lines) {
      if (line.startsWith("[")) continue;
      const u = new SpeechSynthesisUtterance(line);
      u.lang = lang;
      window.speechSynthesis.speak(u);
    }
  }

  function setStatus(text, live) {
    $("status").textContent = text;
    $("status").classList.toggle("live", !!live);
  }

  function show(turn) {
    for (const line of turn.said) bubble(line, "ivr");
    speak(turn.said);
    $("gather-controls").hidden = turn.waiting_for !== "gather";
    $("record-controls").hidden = turn.waiting_for !== "record";
    if (turn.ended) {
      callId = null;
      setStatus("call ended", false);
      $("waiting").textContent = "The call has ended.";
      $("call").disabled = false;
      $("hangup").disabled = true;
      for (const e of turn.errors || []) bubble("Error: " + e, "sys");
      if (turn.session_id) {
        $("detail-link").href = root.dataset.detailUrl.replace(/0$/, String(turn.session_id));
        $("done").hidden = false;
      }
      return;
    }
    callId = turn.call_id;
    setStatus("in call", true);
    $("waiting").textContent = turn.waiting_for === "record"
      ? "Recording: speak your comment (or upload a file)."
      : "Waiting for your answer" + (turn.gather_input && turn.gather_input.includes("speech") ? " (keys or speech)" : " (keys)");
  }

  async function post(url, body, isForm) {
    if (busy) return;
    busy = true;
    $("error").textContent = "";
    try {
      const opts = { method: "POST", headers: { "X-CSRFToken": csrf }, credentials: "same-origin" };
      if (isForm) { opts.body = body; } else { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body || {}); }
      const res = await fetch(url, opts);
      let data = null;
      try { data = await res.json(); } catch (e) { data = null; }
      if (!res.ok || !data) {
        $("error").textContent = (data && data.error) || ("The server answered " + res.status + ".");
        if (res.status === 404) { show({ said: [], ended: true, errors: [] }); }
        return;
      }
      show(data);
    } catch (e) {
      $("error").textContent = "Could not reach the server: " + e;
    } finally {
      busy = false;
    }
  }

  const url = (kind) => root.dataset[kind + "Url"].replace("CALL_ID", encodeURIComponent(callId));

  function act(body, label) {
    if (!callId) return;
    if (label) bubble(label, "me");
    post(url("respond"), body);
  }

  function sendKeys() {
    clearTimeout(keyTimer);
    if (!keys) return;
    const digits = keys;
    keys = "";
    $("keys").textContent = "";
    act({ action: "press", digits: digits }, "pressed " + digits);
  }

  $("call").addEventListener("click", () => {
    $("log").innerHTML = "";
    $("done").hidden = true;
    $("call").disabled = true;
    $("hangup").disabled = false;
    setStatus("ringing…", true);
    post(root.dataset.startUrl, {}).then(() => { if (!callId) { $("call").disabled = false; } });
  });
  $("hangup").addEventListener("click", () => act({ action: "hangup" }, "hung up"));
  root.querySelectorAll(".keypad button").forEach((b) => b.addEventListener("click", () => {
    keys += b.dataset.key;
    $("keys").textContent = keys;
    clearTimeout(keyTimer);
    if (b.dataset.key === "#") sendKeys(); else keyTimer = setTimeout(sendKeys, 1500);
  }));
  $("say-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("say-text").value.trim();
    $("say-text").value = "";
    act(text ? { action: "say", text: text } : { action: "silent" }, text ? "said “" + text + "”" : "(silence)");
  });
  $("silent").addEventListener("click", () => act({ action: "silent" }, "(silence)"));
  $("skip-record").addEventListener("click", () => act({ action: "silent" }, "(no comment)"));

  function sendAudio(blob, name) {
    const form = new FormData();
    form.append("audio", blob, name);
    bubble("(comment recorded, " + Math.round(blob.size / 1024) + " KB)", "me");
    post(url("record"), form, true);
  }
  const upload = $("upload");
  if (upload) upload.addEventListener("change", () => {
    if (upload.files.length) sendAudio(upload.files[0], upload.files[0].name);
    upload.value = "";
  });
  const mic = $("mic");
  if (mic) mic.addEventListener("click", async () => {
    if (!navigator.mediaDevices || !window.MediaRecorder) {
      $("error").textContent = "This browser cannot record; upload a file instead.";
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const chunks = [];
      recorder = new MediaRecorder(stream);
      recorder.ondataavailable = (e) => chunks.push(e.data);
      recorder.onstop = () => {
        stream.getTracks().forEach((t) => t.stop());
        sendAudio(new Blob(chunks, { type: recorder.mimeType }), "comment.webm");
      };
      recorder.start();
      mic.hidden = true;
      $("mic-stop").hidden = false;
    } catch (e) {
      $("error").textContent = "Microphone not available: " + e.message;
    }
  });
  const stop = $("mic-stop");
  if (stop) stop.addEventListener("click", () => {
    if (recorder && recorder.state !== "inactive") recorder.stop();
    stop.hidden = true;
    mic.hidden = false;
  });
})();
