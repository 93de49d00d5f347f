// newsdesk back office: the editor's edit lock. Renews the lock every
// data-interval seconds; when someone else took the story over, says so and
// makes the form read-only (the text stays, to be copied); gives the lock up
// when the page is left. Without the script the lock lasts its lease.
"use strict";
(function () {
  const box = document.getElementById("edit-lock");
  if (!box || !box.dataset.heartbeat) return;
  const csrf = document.body.dataset.csrf || "";
  const every = Math.max(5, Number(box.dataset.interval) || 30) * 1000;
  let lost = false;
  let leaving = false;

  function stop(message) {
    lost = true;
    clearInterval(timer);
    box.textContent = message;
    box.className = "error";
    box.setAttribute("role", "alert");
    box.hidden = false;
    const form = document.getElementById("story-form");
    if (!form) return;
    form.setAttribute("data-no-autosave", "");
    form.querySelectorAll("input, textarea").forEach(function (el) { el.readOnly = true; });
    form.querySelectorAll("select, button[type=submit]").forEach(function (el) { el.disabled = true; });
  }

  async function beat() {
    if (lost) return;
    let res;
    let answer = {};
    try {
      res = await fetch(box.dataset.heartbeat, {
        method: "POST",
        headers: { "X-CSRF-Token": csrf, "Accept": "application/json" },
        credentials: "same-origin",
      });
      answer = await res.json();
    } catch (e) {
      return; // offline or the server restarting: the next beat tries again
    }
    if (res.status === 409 || res.status === 403 || res.status === 404) {
      stop(answer.message || (answer.error && answer.error.message) || "You no longer hold this story.");
    }
  }

  const timer = setInterval(beat, every);
  // A form of this page (save, a workflow step) leads back to the editor: keep the lock.
  document.addEventListener("submit", function (ev) { if (!(ev.submitter && ev.submitter.formTarget === "_blank")) leaving = true; });
  window.addEventListener("pagehide", function () {
    if (lost || leaving) return;
    navigator.sendBeacon(box.dataset.release, new URLSearchParams({ csrf: csrf }));
  });
  // Back to this tab: learn at once whether someone took over meanwhile.
  window.addEventListener("focus", beat);
  // Back from the browser's page cache: the lock was given up on leaving; take it again.
  window.addEventListener("pageshow", function (ev) { if (ev.persisted) { leaving = false; beat(); } });
})();
