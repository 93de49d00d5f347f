// newsdesk reader site: brings new updates of a live blog into an open page.
// Every data-poll milliseconds (while the page is visible) it asks the page's
// small JSON document for updates newer than the newest shown, and offers
// them behind a button ("3 new updates: show") instead of moving the text
// under the reader's eyes. Updates removed by the newsroom disappear. Without
// the script the page is complete as served; a reload shows the news.
"use strict";
(function () {
  const box = document.querySelector("section.live[data-updates]");
  if (!box || !window.fetch) return;
  const list = box.querySelector(".live-updates");
  const bar = box.querySelector(".live-new");
  const button = box.querySelector(".live-show");
  const every = Math.max(3000, Number(box.dataset.poll) || 10000);
  const digits = box.dataset.digits || "0123456789";
  let after = Number(box.dataset.after) || 0;
  let pending = [];
  let timer = null;

  function localDigits(n) {
    return String(n).replace(/[0-9]/g, function (d) { return digits.charAt(Number(d)); });
  }

  function label() {
    if (pending.length === 1) return box.dataset.newOne;
    return (box.dataset.newMany || "{n}").replace("{n}", localDigits(pending.length));
  }

  function fragment(html) {
    const t = document.createElement("template");
    t.innerHTML = html;
    return t.content.firstElementChild;
  }

  function show() {
    // Newest first, below the pinned update.
    const empty = list.querySelector(".live-empty");
    if (empty) empty.remove();
    let anchor = list.firstElementChild;
    while (anchor && anchor.classList.contains("pinned")) anchor = anchor.nextElementSibling;
    let first = null;
    pending.forEach(function (u) {
      if (document.getElementById("update-" + u.id)) return;
      const el = fragment(u.html);
      if (!el) return;
      if (u.pinned) {
        list.querySelectorAll(".live-update.pinned").forEach(function (p) { p.classList.remove("pinned"); });
        list.insertBefore(el, list.firstElementChild);
      } else {
        list.insertBefore(el, anchor);
      }
      if (!first) first = el;
    });
    pending = [];
    bar.hidden = true;
    if (first) {
      first.setAttribute("tabindex", "-1");
      first.focus({ preventScroll: false });
    }
  }

  async function poll() {
    if (document.hidden) return;
    let res;
    try {
      res = await fetch(box.dataset.updates + "?after=" + after, { cache: "no-cache", headers: { Accept: "application/json" } });
    } catch (e) {
      return;
    }
    if (!res.ok) return;
    const doc = await res.json();
    const ids = new Set(doc.ids || []);
    list.querySelectorAll(".live-update").forEach(function (el) {
      const id = Number(el.id.replace("update-", ""));
      if (!ids.has(id)) el.remove();
    });
    (doc.updates || []).forEach(function (u) {
      if (u.id > after) pending.push(u);
    });
    pending.sort(function (a, b) { return a.id - b.id; });
    if (doc.newest > after) after = doc.newest;
    if (pending.length) {
      button.textContent = label();
      bar.hidden = false;
    }
    if (!doc.live && timer) {
      clearInterval(timer);
      timer = null;
    }
  }

  button.addEventListener("click", show);
  timer = setInterval(poll, every);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
})();
