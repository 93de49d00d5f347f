// newsdesk reader site: the gallery viewer. As served, a gallery is a strip
// of every photo (scrolling sideways, snapping to each) with thumbnail links
// to each one, so all photos are reachable without this script. The script
// shows one photo at a time instead: previous/next buttons, the thumbnails
// as buttons saying which one is shown, the arrow keys (mirrored in a
// right-to-left page), Home and End, and a polite live region saying
// "Photo 2 of 5". The words come from the page (data-gallery-* on the story).
"use strict";
(function () {
  const galleries = document.querySelectorAll("section.gallery[data-gallery]");
  if (!galleries.length) return;

  function words(g) {
    const host = g.closest("[data-gallery-prev]");
    const d = host ? host.dataset : {};
    return {
      prev: d.galleryPrev || "Previous photo",
      next: d.galleryNext || "Next photo",
      position: d.galleryPosition || "Photo {n} of {total}",
      digits: d.galleryDigits || "0123456789",
    };
  }

  function localDigits(n, digits) {
    return String(n).replace(/[0-9]/g, function (c) { return digits.charAt(Number(c)); });
  }

  function button(cls, label, text) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.setAttribute("aria-label", label);
    const mark = document.createElement("span");
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = text;
    b.appendChild(mark);
    return b;
  }

  galleries.forEach(function (g) {
    const slides = Array.prototype.slice.call(g.querySelectorAll(".gallery-slide"));
    const thumbs = Array.prototype.slice.call(g.querySelectorAll(".gallery-thumb"));
    const strip = g.querySelector(".gallery-slides");
    if (slides.length === 0 || !strip) return;
    const w = words(g);
    const rtl = getComputedStyle(g).direction === "rtl";
    let current = 0;

    g.classList.add("gallery-enhanced");
    // One photo at a time: the strip is no longer a scrolling region.
    strip.removeAttribute("tabindex");
    const status = document.createElement("p");
    status.className = "gallery-status";
    status.setAttribute("aria-live", "polite");
    status.setAttribute("aria-atomic", "true");
    const controls = document.createElement("div");
    controls.className = "gallery-controls";
    // ‹ and › are mirrored by the browser in a right-to-left page (Unicode
    // bidi mirroring), where "next" runs leftwards: the marks follow the text.
    const prev = button("gallery-prev", w.prev, "\u2039");
    const next = button("gallery-next", w.next, "\u203A");
    controls.appendChild(prev);
    controls.appendChild(status);
    controls.appendChild(next);
    strip.insertAdjacentElement("afterend", controls);

    function show(n, focusThumb) {
      current = Math.max(0, Math.min(slides.length - 1, n));
      slides.forEach(function (s, i) { s.hidden = i !== current; });
      thumbs.forEach(function (t, i) {
        if (i === current) t.setAttribute("aria-current", "true");
        else t.removeAttribute("aria-current");
      });
      const focused = document.activeElement;
      prev.disabled = current === 0;
      next.disabled = current === slides.length - 1;
      // A disabled button loses the focus (to the page): hand it to the other one, so the keys keep working.
      if (focused === prev && prev.disabled && !next.disabled) next.focus();
      else if (focused === next && next.disabled && !prev.disabled) prev.focus();
      status.textContent = w.position
        .replace("{n}", localDigits(current + 1, w.digits))
        .replace("{total}", localDigits(slides.length, w.digits));
      if (focusThumb && thumbs[current]) thumbs[current].focus();
    }

    prev.addEventListener("click", function () { show(current - 1, false); });
    next.addEventListener("click", function () { show(current + 1, false); });
    thumbs.forEach(function (t, i) {
      t.setAttribute("role", "button");
      t.addEventListener("click", function (e) {
        e.preventDefault();
        show(i, false);
      });
      // A link made a button answers the space bar too.
      t.addEventListener("keydown", function (e) {
        if (e.key === " ") {
          e.preventDefault();
          show(i, false);
        }
      });
    });
    g.addEventListener("keydown", function (e) {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      const onThumb = e.target.classList && e.target.classList.contains("gallery-thumb");
      let to = null;
      if (e.key === "ArrowRight") to = rtl ? current - 1 : current + 1;
      else if (e.key === "ArrowLeft") to = rtl ? current + 1 : current - 1;
      else if (e.key === "Home") to = 0;
      else if (e.key === "End") to = slides.length - 1;
      if (to === null) return;
      e.preventDefault();
      show(to, onThumb);
    });
    // A link to one photo (#gallery-lead-3-2) opens the viewer there.
    const wanted = location.hash ? slides.findIndex(function (s) { return "#" + s.id === location.hash; }) : -1;
    show(wanted >= 0 ? wanted : 0, false);
  });
})();
