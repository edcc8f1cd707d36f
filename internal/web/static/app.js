// opsdeck's one script. Every page works without it; it only adds:
// - a confirmation before destructive actions (forms with data-confirm),
// - copy buttons for values shown once (tokens, generated passwords),
// - closing the account menu with Escape or a click elsewhere.
(function () {
  "use strict";

  // Ask once before a destructive action. Without the script the form
  // submits straight away, which is still a deliberate button press.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var msg = form.getAttribute("data-confirm");
    if (ev.submitter && ev.submitter.hasAttribute("data-confirm")) {
      msg = ev.submitter.getAttribute("data-confirm");
    }
    if (msg && !window.confirm(msg)) {
      ev.preventDefault();
    }
  });

  function say(id, text) {
    var status = document.getElementById(id + "-status");
    if (status) {
      status.textContent = text;
    }
  }

  function copy(btn) {
    var id = btn.getAttribute("data-copy");
    var field = document.getElementById(id);
    if (!field) {
      return;
    }
    var done = function () { say(id, "Copied to the clipboard."); };
    var fallback = function () {
      field.focus();
      field.select();
      try {
        document.execCommand("copy");
        done();
      } catch (e) {
        say(id, "Select the text and copy it yourself.");
      }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, fallback);
    } else {
      fallback();
    }
  }

  document.querySelectorAll("button[data-copy]").forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () { copy(btn); });
  });

  // A value shown once is easiest to copy when one click selects all of it.
  document.querySelectorAll("[data-select-on-focus]").forEach(function (el) {
    el.addEventListener("focus", function () { el.select(); });
  });

  var menu = document.querySelector("details.account");
  if (menu) {
    document.addEventListener("click", function (ev) {
      if (menu.open && !menu.contains(ev.target)) {
        menu.open = false;
      }
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });
  }
})();
