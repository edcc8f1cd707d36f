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

// New ticket form: suggest knowledge-base articles as the subject is
// typed, from /api/v1/kb/search. Without the script the "Find answers"
// button asks the server for the same list.
(function () {
  "use strict";
  document.querySelectorAll("[data-kb-suggest]").forEach(function (box) {
    var input = document.getElementById(box.getAttribute("data-kb-suggest"));
    if (!input || !window.fetch) {
      return;
    }
    var timer = null;
    var last = "";
    var show = function (hits) {
      box.textContent = "";
      if (!hits.length) {
        return;
      }
      var p = document.createElement("p");
      p.className = "hint";
      p.textContent = "These articles may answer it already:";
      var ul = document.createElement("ul");
      ul.className = "kb-suggestion-list";
      hits.forEach(function (h) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = "/kb/articles/" + encodeURIComponent(h.id);
        a.target = "_blank";
        a.rel = "noopener";
        a.textContent = h.title;
        var snip = document.createElement("span");
        snip.className = "muted";
        snip.textContent = " " + (h.snippet || "");
        li.appendChild(a);
        li.appendChild(snip);
        ul.appendChild(li);
      });
      box.appendChild(p);
      box.appendChild(ul);
    };
    var search = function () {
      var q = input.value.trim();
      if (q === last) {
        return;
      }
      last = q;
      if (q.length < 3) {
        show([]);
        return;
      }
      fetch("/api/v1/kb/search?any=1&limit=5&q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { data: [] }; })
        .then(function (body) { if (input.value.trim() === q) { show(body.data || []); } })
        .catch(function () {});
    };
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, 300);
    });
  });
})();
