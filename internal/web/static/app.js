// opsdeck's one script. Every page works without it; it only adds:
// - a confirmation before destructive actions (forms with data-confirm),
// - copy buttons for values shown once (tokens, generated passwords),
// - closing the account menu with Escape or a click elsewhere,
// - showing only the chosen check type's settings on the monitor form.
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

// Monitor form: show only the settings of the chosen check type. The
// sections of the other types are disabled as well as hidden, so they are
// neither validated nor sent. Without the script every section shows and
// the server uses the chosen type's only.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.querySelectorAll("form[data-type-switch]").forEach(function (form) {
    var sections = form.querySelectorAll("[data-type-section]");
    var update = function () {
      var checked = form.querySelector('input[name="type"]:checked');
      var type = checked ? checked.value : "";
      sections.forEach(function (s) {
        var on = s.getAttribute("data-type-section") === type;
        s.hidden = !on;
        s.disabled = !on;
      });
    };
    form.addEventListener("change", function (ev) {
      if (ev.target && ev.target.name === "type") {
        update();
      }
    });
    update();
  });
})();
