// Comment form: on first focus, fetch a fresh form token bound to a
// SameSite cookie (the form also works without this script, with the token
// that came with the page).
(function () {
  "use strict";
  var form = document.getElementById("comment-form");
  if (!form || !window.fetch) {
    return;
  }
  var asked = false;
  form.addEventListener("focusin", function () {
    if (asked) {
      return;
    }
    asked = true;
    fetch(form.getAttribute("data-token-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (j && typeof j.token === "string") {
          form.elements.token.value = j.token;
        }
      })
      .catch(function () { asked = false; });
  });
})();
