// As-you-type suggestions for the search boxes (progressive enhancement: without this script the
// boxes are plain forms). Asks /api/v1/search/suggest and shows a list under the box; arrow keys
// move, Enter opens, Escape closes. No inline code: the CSP forbids it.
(function () {
  "use strict";
  var boxes = document.querySelectorAll("input[data-suggest]");
  Array.prototype.forEach.call(boxes, function (input, n) {
    var list = document.createElement("ul");
    list.id = "suggest-" + n;
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    input.parentNode.insertBefore(list, input.nextSibling);
    input.setAttribute("autocomplete", "off");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");
    var timer = null, active = -1, asked = "";

    function close() {
      list.hidden = true;
      list.textContent = "";
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
    function go(item) {
      if (item.dataset.code) {
        window.location.href = "/items/" + encodeURIComponent(item.dataset.code);
      } else {
        input.value = item.dataset.text;
        input.form.submit();
      }
    }
    function mark(i) {
      var items = list.querySelectorAll("li");
      if (!items.length) return;
      active = (i + items.length) % items.length;
      Array.prototype.forEach.call(items, function (li, k) {
        li.setAttribute("aria-selected", k === active ? "true" : "false");
      });
      input.setAttribute("aria-activedescendant", items[active].id);
    }
    function show(suggestions) {
      list.textContent = "";
      suggestions.forEach(function (s, k) {
        var li = document.createElement("li");
        li.id = list.id + "-" + k;
        li.setAttribute("role", "option");
        li.textContent = s.text;
        li.dataset.text = s.text;
        if (s.code) li.dataset.code = s.code;
        li.addEventListener("mousedown", function (e) { e.preventDefault(); go(li); });
        list.appendChild(li);
      });
      list.hidden = suggestions.length === 0;
      input.setAttribute("aria-expanded", suggestions.length ? "true" : "false");
      active = -1;
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (!q) { close(); return; }
      timer = setTimeout(function () {
        asked = q;
        fetch("/api/v1/search/suggest?limit=8&q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
          .then(function (body) { if (asked === input.value.trim()) show(body.suggestions || []); })
          .catch(function () { close(); });
      }, 150);
    });
    input.addEventListener("keydown", function (e) {
      if (list.hidden) return;
      if (e.key === "ArrowDown") { e.preventDefault(); mark(active + 1); }
      else if (e.key === "ArrowUp") { e.preventDefault(); mark(active - 1); }
      else if (e.key === "Escape") { close(); }
      else if (e.key === "Enter" && active >= 0) {
        e.preventDefault();
        go(list.querySelectorAll("li")[active]);
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  });
})();
