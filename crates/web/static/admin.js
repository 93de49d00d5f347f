// newsdesk back office: live preview, autosave of drafts, and a warning
// before leaving with unsaved changes. Everything works without it.
"use strict";
(function () {
  const csrf = document.body.dataset.csrf || "";
  const form = document.getElementById("story-form");
  if (!form) return;
  const body = form.querySelector("textarea[name=body]");
  const preview = document.getElementById("preview");
  const status = document.getElementById("autosave-status");
  let dirty = false;
  let previewTimer = null;
  let saveTimer = null;

  async function post(url, data) {
    return fetch(url, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(data),
      credentials: "same-origin",
    });
  }

  async function renderPreview() {
    if (!body || !preview) return;
    const format = form.querySelector("input[name=body_format]").value;
    const res = await post("/admin/preview", { body: body.value, body_format: format });
    if (res.ok) preview.innerHTML = await res.text(); // sanitized by the server, like the public page
  }

  async function autosave() {
    const url = form.dataset.autosave;
    if (!url || form.hasAttribute("data-no-autosave") || !dirty) return;
    const res = await post(url, new FormData(form));
    let answer = {};
    try { answer = await res.json(); } catch (e) { answer = { message: "the server did not answer" }; }
    if (res.ok && answer.saved) {
      form.querySelector("input[name=version]").value = answer.version;
      dirty = false;
      status.textContent = "Draft saved " + new Date().toLocaleTimeString();
    } else {
      status.textContent = "Not saved automatically: " + (answer.message || res.status);
    }
  }

  form.addEventListener("input", function (ev) {
    dirty = true;
    if (ev.target === body) {
      clearTimeout(previewTimer);
      previewTimer = setTimeout(renderPreview, 300);
    }
    clearTimeout(saveTimer);
    saveTimer = setTimeout(autosave, 5000);
  });
  form.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (ev) {
    if (dirty) { ev.preventDefault(); ev.returnValue = ""; }
  });
  renderPreview();
})();
