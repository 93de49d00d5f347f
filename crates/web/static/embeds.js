// Click-to-load embeds. A placeholder (figure.embed) asks nothing from the
// provider until the reader presses its button; then the provider's player
// replaces it. Without this script the placeholder's link leads to the
// original. The page's Content-Security-Policy allows exactly the frames of
// the providers it embeds.
(function () {
  "use strict";
  var me = document.currentScript;
  var label = (me && me.getAttribute("data-load")) || "Load content from {provider}";

  function prepare(root) {
    if (!root.querySelectorAll) {
      return;
    }
    var figures = root.querySelectorAll("figure.embed[data-embed-src]");
    for (var i = 0; i < figures.length; i++) {
      var f = figures[i];
      if (f.querySelector(".embed-load, iframe")) {
        continue;
      }
      var name = f.querySelector(".embed-provider");
      var b = document.createElement("button");
      b.type = "button";
      b.className = "embed-load";
      b.textContent = label.replace("{provider}", name ? name.textContent : "");
      f.insertBefore(b, f.querySelector("figcaption"));
    }
  }

  function load(b) {
    var f = b.closest("figure.embed");
    var src = f && f.getAttribute("data-embed-src");
    if (!src || src.indexOf("https://") !== 0) {
      return;
    }
    var link = f.querySelector("figcaption a");
    var frame = document.createElement("iframe");
    frame.className = "embed-frame";
    frame.title = link ? link.textContent : "";
    frame.setAttribute("allow", "autoplay; encrypted-media; fullscreen; picture-in-picture");
    frame.setAttribute("allowfullscreen", "");
    frame.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
    frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox allow-presentation");
    frame.src = src;
    var thumb = f.querySelector(".embed-thumb");
    if (thumb) {
      f.removeChild(thumb);
    }
    f.replaceChild(frame, b);
    f.classList.add("embed-loaded");
    frame.focus();
  }

  document.addEventListener("click", function (ev) {
    var b = ev.target && ev.target.closest ? ev.target.closest(".embed-load") : null;
    if (b) {
      load(b);
    }
  });
  prepare(document);
  // Live-blog updates arrive after the page: give their placeholders a button too.
  if (window.MutationObserver && document.body) {
    new MutationObserver(function (records) {
      for (var i = 0; i < records.length; i++) {
        for (var j = 0; j < records[i].addedNodes.length; j++) {
          prepare(records[i].addedNodes[j]);
        }
      }
    }).observe(document.body, { childList: true, subtree: true });
  }
})();
