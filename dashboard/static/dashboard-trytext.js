// Try-a-survey by text: shows the survey's texts and sends the replies typed.
(function () {
  "use strict";
  const root = document.getElementById("trytext");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  let sessionId = null;

  function bubble(text, who) {
    const p = document.createElement("p");
    p.className = "bubble " + who;
    p.textContent = text;
    $("text-log").appendChild(p);
    $("text-log").scrollTop = $("text-log").scrollHeight;
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({ error: "Unexpected answer." }));
    if (!response.ok) throw new Error(data.error || "Something went wrong.");
    return data;
  }

  function show(answer) {
    for (const text of answer.texts) bubble(text, "ivr");
    if (answer.ended) {
      $("text-status").textContent = "finished";
      $("text-done").hidden = false;
      $("text-detail-link").href = root.dataset.detailUrl.replace(/0$/, String(sessionId));
    }
  }

  $("text-start").addEventListener("click", async () => {
    $("text-error").textContent = "";
    try {
      const answer = await post(root.dataset.startUrl);
      sessionId = answer.session_id;
      $("text-log").innerHTML = "";
      $("text-status").textContent = "waiting for your reply";
      $("text-status").classList.add("live");
      $("text-form").hidden = false;
      $("text-done").hidden = true;
      show(answer);
      $("text-reply").focus();
    } catch (err) {
      $("text-error").textContent = err.message;
    }
  });

  $("text-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("text-reply").value.trim();
    if (!text || sessionId === null) return;
    $("text-error").textContent = "";
    bubble(text, "me");
    $("text-reply").value = "";
    try {
      show(await post(root.dataset.replyUrl.replace(/0\/reply$/, sessionId + "/reply"), { text }));
    } catch (err) {
      $("text-error").textContent = err.message;
    }
  });
})();
