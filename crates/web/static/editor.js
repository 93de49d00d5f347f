// newsdesk back office: the story editor on the Markdown body. A toolbar and
// shortcuts (Ctrl/Cmd+B, I, K; Ctrl/Cmd+S saves through the form's Save
// button, so the version check stays), inline library photos
// (`![Caption](photo:ID "Credit")`) and embeds (a provider's URL alone on a
// line), paste from Word or Google Docs made into clean Markdown, and word,
// character and length counts. Our own code, no package; without it the form
// is the plain textarea it always was.
"use strict";

// ----- paste cleaning: HTML (Word, Google Docs, web pages) to Markdown -----
// Pure: a string in, a string out (window.newsdeskEditor.htmlToMarkdown, for tests).
const newsdeskEditor = (function () {
  const SKIP = new Set(["STYLE", "SCRIPT", "HEAD", "TITLE", "META", "LINK", "XML", "TEMPLATE", "NOSCRIPT",
    "IFRAME", "OBJECT", "EMBED", "SVG", "IMG", "PICTURE", "VIDEO", "AUDIO", "CANVAS", "BUTTON", "INPUT",
    "SELECT", "TEXTAREA", "O:P", "W:SDT"]);
  const BLOCK = new Set(["P", "DIV", "H1", "H2", "H3", "H4", "H5", "H6", "LI", "UL", "OL", "BLOCKQUOTE",
    "PRE", "TABLE", "TR", "TD", "TH", "THEAD", "TBODY", "SECTION", "ARTICLE", "HEADER", "FOOTER", "DL", "DT",
    "DD", "FIGURE", "FIGCAPTION", "ADDRESS", "HR", "MAIN", "ASIDE", "NAV", "CENTER"]);

  function style(el, name) {
    const s = (el.getAttribute && el.getAttribute("style")) || "";
    const m = s.match(new RegExp("(?:^|;)\\s*" + name + "\\s*:\\s*([^;]+)", "i"));
    return m ? m[1].trim().toLowerCase() : "";
  }

  // Markdown's characters in text are escaped, so the text stays text.
  function escapeInline(t) {
    return t.replace(/[\\`*[\]]/g, "\\$&").replace(/(^|[^\p{L}\p{N}])_|_(?=[^\p{L}\p{N}]|$)/gu, function (m) {
      return m.replace("_", "\\_");
    });
  }
  function escapeLineStart(t) {
    return t.replace(/^(#{1,6}\s|>|[-+]\s|(\d+)[.)]\s)/, "\\$1");
  }

  function safeHref(href) {
    try {
      const u = new URL(href);
      return ["http:", "https:", "mailto:"].includes(u.protocol) ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  // One run of text with its marks; runs make a block's inline Markdown.
  function runsToMarkdown(runs) {
    const merged = [];
    runs.forEach(function (r) {
      const t = r.t.replace(/[\s\u00a0]+/g, " ");
      const last = merged[merged.length - 1];
      if (last && last.b === r.b && last.i === r.i && last.href === r.href) last.t += t;
      else merged.push({ t: t, b: r.b, i: r.i, href: r.href });
    });
    let out = "";
    merged.forEach(function (r) {
      const m = r.t.match(/^(\s*)([\s\S]*?)(\s*)$/);
      if (!m[2]) { out += r.t; return; }
      let core = escapeInline(m[2]);
      if (r.i) core = "*" + core + "*";
      if (r.b) core = "**" + core + "**";
      if (r.href) core = "[" + core + "](" + r.href.replace(/[()\s]/g, encodeURIComponent) + ")";
      out += m[1] + core + m[3];
    });
    return out.replace(/ {2,}/g, " ").trim();
  }

  function htmlToMarkdown(html) {
    const doc = new DOMParser().parseFromString(String(html), "text/html");
    const blocks = [];
    let runs = [];
    let kind = { type: "p" };
    let listN = 0; // numbering of Word's list paragraphs (no <ol> around them)

    function flush() {
      const text = runsToMarkdown(runs);
      runs = [];
      if (!text || /^(\\?[*_\s])*$/.test(text)) return;
      blocks.push(Object.assign({}, kind, { text: text }));
    }

    function wordList(el) {
      const ms = style(el, "mso-list");
      if (!ms || ms === "ignore" || ms === "none") return null;
      const level = Number((ms.match(/level(\d+)/) || [0, 1])[1]);
      let marker = "";
      el.querySelectorAll("span").forEach(function (s) {
        if (style(s, "mso-list") === "ignore") { marker += s.textContent; s.remove(); }
      });
      return { ordered: /^[\s\u00a0]*(\d+|[a-z]|[ivxlc]+)[.)]/i.test(marker), depth: Math.max(0, level - 1) };
    }

    function walk(node, ctx) {
      if (node.nodeType === 3) {
        if (ctx.pre) runs.push({ t: node.data, b: false, i: false, href: null });
        else if (node.data) runs.push({ t: node.data, b: ctx.b, i: ctx.i, href: ctx.href });
        return;
      }
      if (node.nodeType !== 1) return; // comments (Word's conditional ones too), processing instructions
      const el = node;
      const tag = el.tagName.toUpperCase();
      if (SKIP.has(tag) || style(el, "display") === "none" || style(el, "mso-list") === "ignore") return;
      if (tag === "BR") { flush(); return; }
      if (tag === "HR") { flush(); return; }
      const c = Object.assign({}, ctx);
      // Inline marks: tags and the styles Google Docs and Word write instead.
      if (tag === "B" || tag === "STRONG") c.b = true;
      if (tag === "I" || tag === "EM" || tag === "CITE") c.i = true;
      const fw = style(el, "font-weight");
      if (/^(bold|bolder|[6-9]00)$/.test(fw)) c.b = true;
      else if (/^(normal|lighter|[1-5]00)$/.test(fw)) c.b = false;
      const fs = style(el, "font-style");
      if (fs === "italic" || fs === "oblique") c.i = true;
      else if (fs === "normal") c.i = false;
      if (tag === "A" && el.getAttribute("href")) c.href = safeHref(el.getAttribute("href")) || ctx.href;
      if (!BLOCK.has(tag)) {
        el.childNodes.forEach(function (n) { walk(n, c); });
        return;
      }
      // A block: what came before it is a block of its own.
      flush();
      const outer = kind;
      const word = tag === "P" ? wordList(el) : null;
      if (/^H[1-6]$/.test(tag)) {
        kind = { type: tag === "H1" || tag === "H2" ? "h2" : "h3", quote: ctx.quote };
        c.b = false; // a heading is not bold text
      } else if (tag === "BLOCKQUOTE") {
        c.quote = (ctx.quote || 0) + 1;
        kind = { type: "p", quote: c.quote };
      } else if (tag === "UL" || tag === "OL") {
        c.list = (ctx.list || []).concat([{ ordered: tag === "OL", n: 0 }]);
      } else if (tag === "LI") {
        const lists = ctx.list || [{ ordered: false, n: 0 }];
        const list = lists[lists.length - 1];
        list.n += 1;
        kind = { type: "li", ordered: list.ordered, n: list.n, depth: lists.length - 1, quote: ctx.quote };
        c.inLi = true;
      } else if (word) {
        listN = word.ordered ? listN + 1 : 0;
        kind = { type: "li", ordered: word.ordered, n: listN || 1, depth: word.depth, quote: ctx.quote, word: true };
      } else if (tag === "PRE") {
        c.pre = true;
        kind = { type: "p", quote: ctx.quote };
      } else if (!ctx.inLi && !/^(UL|OL|TABLE|TBODY|THEAD|TR)$/.test(tag)) {
        kind = { type: "p", quote: ctx.quote };
      }
      if (tag === "P" && !word) listN = 0;
      el.childNodes.forEach(function (n) { walk(n, c); });
      flush();
      kind = outer;
    }

    walk(doc.body, { b: false, i: false, href: null, quote: 0, list: null, inLi: false, pre: false });
    flush();

    let out = "";
    blocks.forEach(function (blk, k) {
      let line;
      if (blk.type === "h2") line = "## " + blk.text.replace(/^\*\*(.*)\*\*$/, "$1");
      else if (blk.type === "h3") line = "### " + blk.text.replace(/^\*\*(.*)\*\*$/, "$1");
      else if (blk.type === "li") line = "   ".repeat(blk.depth || 0) + (blk.ordered ? blk.n + ". " : "- ") + blk.text;
      else line = escapeLineStart(blk.text);
      if (blk.quote) line = "> ".repeat(blk.quote) + line;
      const prev = blocks[k - 1];
      if (k > 0) out += prev.type === "li" && blk.type === "li" ? "\n" : "\n\n";
      out += line;
    });
    return out;
  }

  return { htmlToMarkdown: htmlToMarkdown };
})();
window.newsdeskEditor = newsdeskEditor;

(function () {
  const form = document.getElementById("story-form");
  const body = form && form.querySelector("textarea[name=body]");
  if (!form || !body) return;
  const csrf = document.body.dataset.csrf || "";
  const bar = document.querySelector("[data-editor-toolbar]");
  const markdown = () => (form.querySelector("input[name=body_format]") || {}).value === "markdown";

  // Numbers in the edition's digits (data-digits: "0123456789" written in them).
  function digits(el, n) {
    const d = (el && el.dataset.digits) || "0123456789";
    return String(n).replace(/[0-9]/g, (c) => d.charAt(Number(c)));
  }
  function fill(template, values, el) {
    return template.replace(/\{(\w+)\}/g, (m, k) => (k in values ? digits(el, values[k]) : m));
  }

  // ----- editing the textarea (through the browser's undo history where it has one) -----
  function replace(start, end, text, selStart, selEnd) {
    body.focus();
    body.setSelectionRange(start, end);
    let done = false;
    try { done = document.execCommand("insertText", false, text); } catch (e) { done = false; }
    if (!done || body.value.slice(start, start + text.length) !== text) {
      body.setRangeText(text, start, end, "end");
      body.dispatchEvent(new Event("input", { bubbles: true }));
    }
    body.setSelectionRange(selStart, selEnd);
  }

  // Bold and italic: wrap the selection (its outer spaces stay outside), or unwrap it.
  function wrap(mark) {
    let s = body.selectionStart;
    let e = body.selectionEnd;
    const v = body.value;
    while (s < e && /\s/.test(v[s])) s++;
    while (e > s && /\s/.test(v[e - 1])) e--;
    const n = mark.length;
    const inner = v.slice(s, e);
    const boldAround = v.slice(s - 2, s) === "**" && v.slice(e, e + 2) === "**";
    const around = v.slice(s - n, s) === mark && v.slice(e, e + n) === mark && (n === 2 || !boldAround || v.slice(s - 3, s) === "***");
    if (inner && around) {
      replace(s - n, e + n, inner, s - n, e - n);
    } else if (inner.length > 2 * n && inner.startsWith(mark) && inner.endsWith(mark)) {
      replace(s, e, inner.slice(n, -n), s, e - 2 * n);
    } else {
      replace(s, e, mark + inner + mark, s + n, e + n);
    }
  }

  // Subheading, lists and quote: every line the selection touches.
  function lines(kind) {
    const v = body.value;
    const s = v.lastIndexOf("\n", body.selectionStart - 1) + 1;
    let e = v.indexOf("\n", Math.max(body.selectionEnd - (body.selectionEnd > body.selectionStart && v[body.selectionEnd - 1] === "\n" ? 1 : 0), s));
    if (e < 0) e = v.length;
    const all = v.slice(s, e).split("\n");
    const pattern = { heading: /^#{1,6}\s+/, bullets: /^[-*+]\s+/, numbers: /^\d+[.)]\s+/, quote: /^>\s?/ }[kind];
    const filled = all.filter((l) => l.trim());
    const on = filled.length > 0 && filled.every((l) => pattern.test(l));
    let n = 0;
    const out = all.map(function (l) {
      if (!l.trim()) return l;
      if (on) return l.replace(pattern, "");
      const bare = l.replace(/^(#{1,6}\s+|[-*+]\s+|\d+[.)]\s+)/, "");
      if (kind === "heading") return "## " + bare;
      if (kind === "bullets") return "- " + bare;
      if (kind === "numbers") return (++n) + ". " + bare;
      return "> " + l;
    });
    const text = out.join("\n");
    if (!all.join("").trim()) {
      const prefix = { heading: "## ", bullets: "- ", numbers: "1. ", quote: "> " }[kind];
      replace(s, e, prefix, s + prefix.length, s + prefix.length);
      return;
    }
    replace(s, e, text, s, s + text.length);
  }

  // A block (photo, embed) alone on its line, with blank lines around it.
  function insertBlock(text) {
    const v = body.value;
    const s = body.selectionStart;
    const e = body.selectionEnd;
    const before = v.slice(0, s);
    const after = v.slice(e);
    const lead = before === "" || /\n\n$/.test(before) ? "" : /\n$/.test(before) ? "\n" : "\n\n";
    const tail = after === "" ? "\n" : /^\n\n/.test(after) ? "" : /^\n/.test(after) ? "\n" : "\n\n";
    const chunk = lead + text + tail;
    replace(s, e, chunk, s + chunk.length, s + chunk.length);
  }

  // ----- the address dialog (link, embed) -----
  const urlDialog = document.querySelector("[data-url-dialog]");
  function askUrl(title, label, done) {
    if (!urlDialog || typeof urlDialog.showModal !== "function") {
      const v = window.prompt(label, "https://");
      if (v) done(v.trim());
      return;
    }
    const input = urlDialog.querySelector("[data-url-input]");
    const error = urlDialog.querySelector("[data-url-error]");
    urlDialog.querySelector("[data-url-title]").textContent = title;
    urlDialog.querySelector("[data-url-label]").textContent = label;
    input.value = "";
    error.hidden = true;
    urlDialog.returnValue = "";
    urlDialog.onclose = function () {
      urlDialog.onclose = null;
      if (urlDialog.returnValue === "insert") done(input.value.trim());
      body.focus();
    };
    urlDialog.showModal();
    input.focus();
  }
  function validUrl(v) {
    try {
      const u = new URL(v);
      return (u.protocol === "http:" || u.protocol === "https:") && !!u.hostname && !/\s/.test(v);
    } catch (e) {
      return false;
    }
  }
  if (urlDialog) {
    urlDialog.querySelector("form").addEventListener("submit", function (ev) {
      if (!ev.submitter || ev.submitter.value !== "insert") return;
      const input = urlDialog.querySelector("[data-url-input]");
      if (!validUrl(input.value.trim())) {
        ev.preventDefault();
        const error = urlDialog.querySelector("[data-url-error]");
        error.textContent = bar ? bar.dataset.linkInvalid : "http:// or https://";
        error.hidden = false;
        input.setAttribute("aria-invalid", "true");
        input.focus();
      } else {
        input.removeAttribute("aria-invalid");
      }
    });
  }

  function link() {
    const s = body.selectionStart;
    const e = body.selectionEnd;
    const chosen = body.value.slice(s, e);
    askUrl(bar.dataset.linkTitle, bar.dataset.linkLabel, function (url) {
      if (!validUrl(url)) return;
      const label = chosen || bar.dataset.linkText || "link";
      body.focus();
      body.setSelectionRange(s, e);
      const text = "[" + label.replace(/[[\]]/g, "\\$&") + "](" + url.replace(/[()\s]/g, encodeURIComponent) + ")";
      replace(s, e, text, s + 1, s + 1 + label.length);
    });
  }

  function embed() {
    const s = body.selectionStart;
    const e = body.selectionEnd;
    askUrl(bar.dataset.embedTitle, bar.dataset.embedLabel, function (url) {
      if (!validUrl(url)) return;
      body.setSelectionRange(s, e);
      insertBlock(url);
    });
  }

  // ----- the photo dialog: the library (search by caption) or an upload, then caption and credit for this use -----
  const photoDialog = document.querySelector("[data-photo-dialog]");
  let chosenPhoto = null;
  let photoRange = [0, 0];
  let asked = 0;
  function photoStatus(text) { photoDialog.querySelector("[data-photo-status]").textContent = text; }
  function choosePhoto(item) {
    chosenPhoto = item;
    const box = photoDialog.querySelector("[data-photo-chosen]");
    box.querySelector("[data-photo-img]").src = item.thumb;
    box.querySelector("[data-photo-caption]").value = item.caption || "";
    box.querySelector("[data-photo-credit]").value = item.credit || "";
    box.hidden = false;
    photoDialog.querySelector("[data-photo-insert]").disabled = false;
    photoDialog.querySelectorAll("[data-photo-results] button").forEach(function (b) {
      b.setAttribute("aria-pressed", b.dataset.id === String(item.id) ? "true" : "false");
    });
    box.querySelector("[data-photo-caption]").focus();
  }
  async function searchPhotos() {
    const n = ++asked;
    const q = photoDialog.querySelector("[data-photo-q]").value.trim();
    const list = photoDialog.querySelector("[data-photo-results]");
    photoStatus(photoDialog.dataset.loading);
    let answer;
    try {
      const res = await fetch("/admin/media?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!res.ok) throw new Error(String(res.status));
      answer = await res.json();
    } catch (e) {
      if (n === asked) photoStatus(photoDialog.dataset.failed);
      return;
    }
    if (n !== asked) return;
    list.replaceChildren(...answer.items.map(function (item) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.id = String(item.id);
      b.setAttribute("aria-pressed", "false");
      const img = document.createElement("img");
      img.src = item.thumb;
      img.alt = (item.caption || "") + " (" + item.id + ")";
      b.append(img);
      b.addEventListener("click", function () { choosePhoto(item); });
      li.append(b);
      return li;
    }));
    photoStatus(answer.items.length ? "" : photoDialog.dataset.none);
  }
  function openPhotos() {
    photoRange = [body.selectionStart, body.selectionEnd];
    chosenPhoto = null;
    photoDialog.querySelector("[data-photo-chosen]").hidden = true;
    photoDialog.querySelector("[data-photo-insert]").disabled = true;
    photoDialog.returnValue = "";
    photoDialog.showModal();
    searchPhotos();
  }
  if (photoDialog) {
    let timer = null;
    photoDialog.querySelector("[data-photo-q]").addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(searchPhotos, 250);
    });
    photoDialog.querySelector("[data-photo-q]").addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") { ev.preventDefault(); clearTimeout(timer); searchPhotos(); }
    });
    photoDialog.querySelector("[data-photo-upload]").addEventListener("change", async function (ev) {
      const file = ev.target.files[0];
      if (!file) return;
      const data = new FormData();
      data.append("file", file);
      photoStatus(photoDialog.dataset.loading);
      let answer = null;
      let res = null;
      try {
        res = await fetch("/admin/media", { method: "POST", headers: { "X-CSRF-Token": csrf, Accept: "application/json" }, body: data, credentials: "same-origin" });
        answer = await res.json();
      } catch (e) {
        answer = null;
      }
      if (res && res.ok && answer && answer.id) {
        photoStatus("");
        choosePhoto(answer);
      } else {
        photoStatus((answer && answer.error && answer.error.message) || photoDialog.dataset.failed);
      }
    });
    photoDialog.addEventListener("close", function () {
      if (photoDialog.returnValue !== "insert" || !chosenPhoto) { body.focus(); return; }
      const oneLine = (t) => t.replace(/\s+/g, " ").trim();
      const caption = oneLine(photoDialog.querySelector("[data-photo-caption]").value).replace(/[\\[\]]/g, "\\$&");
      const credit = oneLine(photoDialog.querySelector("[data-photo-credit]").value).replace(/[\\"]/g, "\\$&");
      body.focus();
      body.setSelectionRange(photoRange[0], photoRange[1]);
      insertBlock("![" + caption + "](photo:" + chosenPhoto.id + (credit ? ' "' + credit + '"' : "") + ")");
    });
  }

  // ----- the toolbar and the shortcuts -----
  const actions = {
    bold: () => wrap("**"),
    italic: () => wrap("*"),
    link: link,
    heading: () => lines("heading"),
    bullets: () => lines("bullets"),
    numbers: () => lines("numbers"),
    quote: () => lines("quote"),
    photo: () => (photoDialog && typeof photoDialog.showModal === "function" ? openPhotos() : null),
    embed: embed,
  };
  const editable = () => !body.readOnly && !body.disabled && !body.closest("fieldset:disabled");
  if (bar && markdown()) {
    bar.hidden = false;
    bar.addEventListener("click", function (ev) {
      const b = ev.target.closest("button[data-md]");
      if (!b || !editable()) return;
      actions[b.dataset.md]();
    });
    if (!editable()) bar.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    // One tab stop for the toolbar; the arrow keys (mirrored right to left), Home and End move along it.
    const buttons = Array.from(bar.querySelectorAll("button"));
    buttons.forEach((b, k) => { b.tabIndex = k === 0 ? 0 : -1; });
    bar.addEventListener("keydown", function (ev) {
      const k = buttons.indexOf(document.activeElement);
      if (k < 0) return;
      const rtl = getComputedStyle(bar).direction === "rtl";
      const step = { ArrowRight: rtl ? -1 : 1, ArrowLeft: rtl ? 1 : -1 }[ev.key];
      let next = null;
      if (step) next = (k + step + buttons.length) % buttons.length;
      else if (ev.key === "Home") next = 0;
      else if (ev.key === "End") next = buttons.length - 1;
      if (next === null) return;
      ev.preventDefault();
      buttons[k].tabIndex = -1;
      buttons[next].tabIndex = 0;
      buttons[next].focus();
    });
  }
  body.addEventListener("keydown", function (ev) {
    if (!(ev.ctrlKey || ev.metaKey) || ev.altKey || !bar || !markdown() || !editable()) return;
    const key = ev.key.toLowerCase();
    const name = { b: "bold", i: "italic", k: "link" }[key];
    if (name && !ev.shiftKey) {
      ev.preventDefault();
      actions[name]();
    }
  });
  // Ctrl/Cmd+S anywhere on the page: the form's own Save (or Update) button, as if clicked.
  document.querySelectorAll("[data-save-hint]").forEach((el) => { el.hidden = false; });
  document.addEventListener("keydown", function (ev) {
    if (!(ev.ctrlKey || ev.metaKey) || ev.altKey || ev.shiftKey || ev.key.toLowerCase() !== "s") return;
    if (document.querySelector("dialog[open]")) return;
    ev.preventDefault();
    const save = form.querySelector("button[type=submit][name=action][value=save]");
    if (save && !save.disabled) form.requestSubmit(save);
  });

  // ----- paste: rich text becomes Markdown -----
  body.addEventListener("paste", function (ev) {
    if (!markdown() || !ev.clipboardData) return;
    const html = ev.clipboardData.getData("text/html");
    if (!html || !/<[a-z]/i.test(html)) return;
    const md = newsdeskEditor.htmlToMarkdown(html);
    if (!md) return;
    ev.preventDefault();
    const s = body.selectionStart;
    replace(s, body.selectionEnd, md, s + md.length, s + md.length);
  });

  // ----- counts: words and characters of the body; headline and lead length guidance -----
  const segmenter = typeof Intl !== "undefined" && Intl.Segmenter ? new Intl.Segmenter(body.lang || undefined, { granularity: "word" }) : null;
  function visibleText(md) {
    return md
      .replace(/^[ \t]*(https?:\/\/\S+|gallery:\d+)[ \t]*$/gm, " ")
      .replace(/!\[([^\]]*)\]\([^)]*\)/g, " ")
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/^[ \t]*(#{1,6}|>|[-*+]|\d+[.)])[ \t]+/gm, "")
      .replace(/[*_`\\]/g, "");
  }
  function countWords(text) {
    if (segmenter) {
      let n = 0;
      for (const seg of segmenter.segment(text)) if (seg.isWordLike) n++;
      return n;
    }
    return (text.match(/[\p{L}\p{N}][\p{L}\p{N}\p{M}'’\u200c-]*/gu) || []).length;
  }
  const bodyCount = document.getElementById("body-count");
  function countBody() {
    if (!bodyCount) return;
    const text = visibleText(body.value);
    const chars = Array.from(text.replace(/\s+/g, " ").trim()).length;
    bodyCount.textContent = fill(bodyCount.dataset.words, { words: countWords(text), chars: chars }, bodyCount);
    bodyCount.hidden = false;
  }
  function guide(field) {
    const out = document.getElementById(field.dataset.count);
    if (!out) return;
    const n = Array.from(field.value.trim()).length;
    const max = Number(out.dataset.max);
    const long = n > max;
    out.textContent = fill(long ? out.dataset.long : out.dataset.ok, { n: n, max: max }, out);
    out.classList.toggle("warning", long);
    out.hidden = false;
  }
  form.querySelectorAll("[data-count]").forEach(function (field) {
    field.addEventListener("input", function () { guide(field); });
    guide(field);
  });
  body.addEventListener("input", countBody);
  countBody();
})();
