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

  let previewAsked = 0;
  async function renderPreview() {
    if (!body || !preview) return;
    if (preview.tagName === "IFRAME") {
      // A saved story: its whole public page with the text on the screen (headline, lead,
      // photo, dateline, body), rendered by the server; shown without scripts or forms.
      const n = ++previewAsked;
      const data = new URLSearchParams(new FormData(form));
      data.delete("action");
      const res = await post(preview.dataset.src, data);
      if (n !== previewAsked || !res.ok) return;
      const html = await res.text();
      const y = preview.contentWindow ? preview.contentWindow.scrollY : 0;
      preview.addEventListener("load", function () { if (preview.contentWindow) preview.contentWindow.scrollTo(0, y); }, { once: true });
      // Links of the previewed page open in a tab of their own (the frame shows only this page).
      preview.srcdoc = html.replace(/<head>/i, '<head><base target="_blank">');
      preview.hidden = false;
      return;
    }
    const format = form.querySelector("input[name=body_format]").value;
    const res = await post("/admin/preview", { body: body.value, body_format: format });
    if (res.ok) preview.innerHTML = await res.text(); // sanitized by the server, like the public page
  }

  // A copy of the text on the screen, kept in this browser until the server has
  // it: offered back when the page opens again after a crash or a closed tab.
  // Restored text keeps the version it was typed on, so a save over a story
  // changed meanwhile is refused as a conflict rather than overwriting it.
  const versionInput = form.querySelector("input[name=version]");
  const copyKey = "newsdesk:unsaved:" + form.getAttribute("action") + (versionInput ? "" : ":" + location.search);
  const textFields = Array.from(form.querySelectorAll("textarea[name], input[type=text][name]"));
  function readCopy() {
    try { return JSON.parse(localStorage.getItem(copyKey) || "null"); } catch (e) { return null; }
  }
  function writeCopy(submitted) {
    const fields = {};
    textFields.forEach(function (f) { fields[f.name] = f.value; });
    try {
      localStorage.setItem(copyKey, JSON.stringify({
        version: versionInput ? versionInput.value : "", at: Date.now(), submitted: !!submitted, fields: fields,
      }));
    } catch (e) { /* storage full or off: the beforeunload warning still stands */ }
  }
  function dropCopy() { try { localStorage.removeItem(copyKey); } catch (e) { /* nothing kept */ } }
  function offerCopy() {
    const copy = readCopy();
    // Not offered into a story someone else is editing (read-only here): kept for later.
    if (!copy || !copy.fields || form.querySelector("fieldset[disabled]")) return;
    const same = textFields.every(function (f) { return !(f.name in copy.fields) || copy.fields[f.name] === f.value; });
    // Nothing differs, or the save it was sent with went through (a new story: any send).
    if (same || (copy.submitted && (!versionInput || Number(versionInput.value) > Number(copy.version)))) { dropCopy(); return; }
    const box = document.createElement("div");
    box.className = "notice unsaved-copy";
    box.setAttribute("role", "alert");
    const p = document.createElement("p");
    const moved = versionInput && copy.version !== versionInput.value;
    p.textContent = "This browser kept changes to this story from " + new Date(copy.at).toLocaleString() +
      " that were not saved." + (moved ? " The story has been saved since (version " + copy.version + " then, " +
      versionInput.value + " now): saving the restored text will show the conflict." : "");
    const restore = document.createElement("button");
    restore.type = "button";
    restore.textContent = "Restore unsaved changes";
    const discard = document.createElement("button");
    discard.type = "button";
    discard.className = "secondary";
    discard.textContent = "Discard them";
    restore.addEventListener("click", function () {
      textFields.forEach(function (f) { if (f.name in copy.fields) f.value = copy.fields[f.name]; });
      if (versionInput && copy.version) versionInput.value = copy.version;
      box.remove();
      dirty = true;
      form.dispatchEvent(new Event("input", { bubbles: true }));
      textFields.forEach(function (f) { f.dispatchEvent(new Event("input", { bubbles: true })); });
    });
    discard.addEventListener("click", function () { dropCopy(); box.remove(); });
    box.append(p, restore, " ", discard);
    form.parentNode.insertBefore(box, form);
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
      dropCopy();
      status.textContent = "Draft saved " + new Date().toLocaleTimeString();
    } else {
      status.textContent = "Not saved automatically: " + (answer.message || res.status);
    }
  }

  let copyTimer = null;
  form.addEventListener("input", function (ev) {
    dirty = true;
    clearTimeout(copyTimer);
    copyTimer = setTimeout(function () { writeCopy(false); }, 250);
    if (ev.target === body || (preview && preview.tagName === "IFRAME")) {
      clearTimeout(previewTimer);
      previewTimer = setTimeout(renderPreview, 300);
    }
    clearTimeout(saveTimer);
    saveTimer = setTimeout(autosave, 5000);
  });
  // The preview button opens a tab and leaves the page (and its unsaved text) as it was.
  form.addEventListener("submit", function (ev) {
    if (ev.submitter && ev.submitter.formTarget === "_blank") return;
    dirty = false;
    clearTimeout(copyTimer);
    writeCopy(true); // dropped when the page shows the save went through
  });
  window.addEventListener("beforeunload", function (ev) {
    if (dirty) { ev.preventDefault(); ev.returnValue = ""; }
  });
  offerCopy();
  renderPreview();
})();

// Photos: drag and drop on the media library's upload form, and the lead
// photo field of the editor (upload by dropping a file, or choose from the
// library). Without the script both still work as plain forms.
(function () {
  const csrf = document.body.dataset.csrf || "";

  function errorText(res, answer) {
    if (answer && answer.error && answer.error.message) return answer.error.message;
    if (res.status === 413) return "The photo is too large.";
    return "The upload failed (" + res.status + ").";
  }

  function onDrop(zone, handle) {
    zone.addEventListener("dragover", function (ev) { ev.preventDefault(); zone.classList.add("dragging"); });
    zone.addEventListener("dragleave", function () { zone.classList.remove("dragging"); });
    zone.addEventListener("drop", function (ev) {
      ev.preventDefault();
      zone.classList.remove("dragging");
      if (ev.dataTransfer && ev.dataTransfer.files.length) handle(ev.dataTransfer.files);
    });
  }

  // The library: a dropped file goes into the form's file field.
  document.querySelectorAll("form.drop-upload").forEach(function (form) {
    const input = form.querySelector("input[type=file]");
    const status = form.querySelector(".upload-status");
    const max = Number(form.dataset.maxBytes || 0);
    onDrop(form, function (files) {
      input.files = files;
      input.dispatchEvent(new Event("change"));
    });
    input.addEventListener("change", function () {
      const f = input.files[0];
      if (!f || !status) return;
      status.textContent = max && f.size > max
        ? f.name + " is larger than the limit; it will be refused."
        : f.name + " is ready: add a caption and credit, then Upload.";
    });
  });

  // The editor's lead photo.
  const field = document.querySelector("[data-photo-field]");
  if (!field) return;
  const idInput = field.querySelector("input[name=photo_id]");
  const preview = field.querySelector("[data-photo-preview]");
  const status = field.querySelector("[data-photo-status]");
  const picker = field.querySelector("[data-photo-picker]");
  field.querySelectorAll("[data-js-only]").forEach(function (el) { el.hidden = false; });

  function choose(item) {
    idInput.value = String(item.id);
    preview.replaceChildren();
    const img = document.createElement("img");
    img.src = item.thumb;
    img.alt = "";
    const p = document.createElement("p");
    p.className = "meta";
    p.textContent = "Photo " + item.id + ": " + (item.caption || "no caption") + (item.credit ? " · " + item.credit : "");
    preview.append(img, p);
    idInput.dispatchEvent(new Event("input", { bubbles: true })); // unsaved change, autosave
  }

  async function upload(file) {
    const data = new FormData();
    data.append("file", file);
    data.append("caption", field.querySelector("[data-photo-caption]").value);
    data.append("credit", field.querySelector("[data-photo-credit]").value);
    status.textContent = "Uploading " + file.name + "…";
    const res = await fetch("/admin/media", {
      method: "POST",
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" },
      body: data,
      credentials: "same-origin",
    });
    let answer = null;
    try { answer = await res.json(); } catch (e) { answer = null; }
    if (res.ok && answer && answer.id) {
      choose(answer);
      status.textContent = "Uploaded as photo " + answer.id + ".";
    } else {
      status.textContent = errorText(res, answer);
    }
  }

  onDrop(field, function (files) { upload(files[0]); });
  field.querySelector("[data-photo-file]").addEventListener("change", function (ev) {
    if (ev.target.files.length) upload(ev.target.files[0]);
  });
  field.querySelector("[data-pick-photo]").addEventListener("click", async function () {
    const res = await fetch("/admin/media", { headers: { "Accept": "application/json" }, credentials: "same-origin" });
    if (!res.ok) { status.textContent = "The library could not be loaded (" + res.status + ")."; return; }
    const answer = await res.json();
    picker.replaceChildren();
    answer.items.forEach(function (item) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.title = "Photo " + item.id + ": " + (item.caption || "no caption");
      const img = document.createElement("img");
      img.src = item.thumb;
      img.alt = b.title;
      b.append(img);
      b.addEventListener("click", function () { choose(item); picker.hidden = true; });
      li.append(b);
      picker.append(li);
    });
    if (!answer.items.length) status.textContent = "The library has no photo yet.";
    picker.hidden = false;
  });
})();

// Tag autocomplete for a comma-separated field: the suggestions complete the
// last tag being typed and keep the ones before it.
(function () {
  const input = document.querySelector("input[name=tags][list]");
  const list = input && document.getElementById(input.getAttribute("list"));
  if (!input || !list) return;
  const known = Array.from(list.options).map((o) => o.value);
  input.addEventListener("input", function () {
    const parts = input.value.split(",");
    const last = parts.pop().trim().toLowerCase();
    const before = parts.map((p) => p.trim()).filter(Boolean);
    const prefix = before.length ? before.join(", ") + ", " : "";
    list.replaceChildren(...known
      .filter((t) => last && t.toLowerCase().startsWith(last) && !before.includes(t))
      .slice(0, 20)
      .map((t) => { const o = document.createElement("option"); o.value = prefix + t; return o; }));
  });
})();

// Agency metadata: genre names complete like tags; the IPTC Media Topic
// search asks the server (names in the story's language, English or Arabic,
// or a code) and a chosen topic's code joins the subjects field.
(function () {
  const genres = document.querySelector("input[name=genres][list]");
  const genreList = genres && document.getElementById(genres.getAttribute("list"));
  if (genres && genreList) {
    const known = Array.from(genreList.options).map((o) => o.value);
    genres.addEventListener("input", function () {
      const parts = genres.value.split(",");
      const last = parts.pop().trim().toLowerCase();
      const before = parts.map((p) => p.trim()).filter(Boolean);
      const prefix = before.length ? before.join(", ") + ", " : "";
      genreList.replaceChildren(...known
        .filter((g) => last && g.toLowerCase().startsWith(last) && !before.includes(g))
        .map((g) => { const o = document.createElement("option"); o.value = prefix + g; return o; }));
    });
  }
  const search = document.querySelector("[data-subject-search]");
  const field = document.querySelector("input[data-subjects]");
  const results = document.querySelector("[data-subject-results]");
  const chosen = document.querySelector("[data-subjects-chosen]");
  if (!search || !field || !results || !chosen) return;
  search.closest("[data-js-only]").hidden = false;
  let timer = null;
  let asked = 0;
  function codes() { return field.value.split(/[\s,،]+/).filter(Boolean); }
  function add(item) {
    const have = codes();
    if (!have.includes(item.qcode)) {
      field.value = have.concat([item.qcode]).join(" ");
      const li = document.createElement("li");
      const name = document.createElement("bdi");
      name.textContent = item.path;
      const code = document.createElement("code");
      code.textContent = item.qcode;
      li.append(name, " ", code);
      chosen.append(li);
    }
    search.value = "";
    results.replaceChildren();
    search.focus();
  }
  search.addEventListener("input", function () {
    clearTimeout(timer);
    const q = search.value.trim();
    if (!q) { results.replaceChildren(); return; }
    timer = setTimeout(function () {
      const n = ++asked;
      fetch("/admin/mediatopics?lang=" + encodeURIComponent(search.dataset.lang || "en") + "&q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
        .then((r) => (r.ok ? r.json() : { items: [] }))
        .then(function (body) {
          if (n !== asked) return;
          results.replaceChildren(...body.items.map(function (item) {
            const li = document.createElement("li");
            const b = document.createElement("button");
            b.type = "button";
            b.className = "link";
            b.textContent = item.path + " (" + item.qcode + ")";
            b.addEventListener("click", function () { add(item); });
            li.append(b);
            return li;
          }));
        })
        .catch(function () { results.replaceChildren(); });
    }, 200);
  });
})();

// The desk board: drag a card onto another stage to move it there. The card's
// own "Move" form does the move (same route, CSRF token and checks), so the
// keyboard and no-script way and the mouse way are one.
(function () {
  const stages = document.querySelectorAll(".desk-board [data-drop]");
  if (!stages.length) return;
  let dragged = null;
  document.querySelectorAll(".desk-board [data-card]").forEach(function (card) {
    const move = card.querySelector("select[name=to]");
    if (!move) return;
    card.draggable = true;
    card.addEventListener("dragstart", function (e) {
      dragged = card;
      card.classList.add("dragging");
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", card.dataset.card);
    });
    card.addEventListener("dragend", function () {
      card.classList.remove("dragging");
      stages.forEach(function (s) { s.classList.remove("drop-target"); });
      dragged = null;
    });
  });
  stages.forEach(function (stage) {
    stage.addEventListener("dragover", function (e) {
      if (!dragged || dragged.closest("[data-drop]") === stage) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "move";
      stage.classList.add("drop-target");
    });
    stage.addEventListener("dragleave", function (e) {
      if (!stage.contains(e.relatedTarget)) stage.classList.remove("drop-target");
    });
    stage.addEventListener("drop", function (e) {
      if (!dragged) return;
      e.preventDefault();
      const select = dragged.querySelector("select[name=to]");
      const target = Array.from(select.options).find(function (o) { return o.value === stage.dataset.drop; });
      if (!target) return;
      select.value = target.value;
      stage.classList.remove("drop-target");
      select.form.requestSubmit();
    });
  });
})();

// A photo's page: a click on the picture sets the focal point's inputs
// (percent across and down) and moves the mark; saving is the form's.
(function () {
  const picker = document.querySelector("[data-focus-picker]");
  if (!picker) return;
  const form = picker.closest("form");
  const img = picker.querySelector("img");
  const mark = picker.querySelector(".focus-mark");
  const x = form.querySelector("input[name=focus_x]");
  const y = form.querySelector("input[name=focus_y]");
  function place() {
    mark.style.left = (parseFloat(x.value) || 0) + "%";
    mark.style.top = (parseFloat(y.value) || 0) + "%";
  }
  img.addEventListener("click", function (e) {
    const box = img.getBoundingClientRect();
    const fx = Math.min(1, Math.max(0, (e.clientX - box.left) / box.width));
    const fy = Math.min(1, Math.max(0, (e.clientY - box.top) / box.height));
    x.value = (fx * 100).toFixed(1);
    y.value = (fy * 100).toFixed(1);
    place();
  });
  x.addEventListener("input", place);
  y.addEventListener("input", place);
  // Placed by the script (the back office's CSP allows no inline styles); without it the inputs say where.
  place();
  mark.hidden = false;
})();
