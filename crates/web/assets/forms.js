// Progressive enhancement of application forms (without this script they work as plain forms):
// choosing a province or city refreshes the address's choices at once, and the form designer
// redraws its preview while the editor types. No inline code: the CSP forbids it.
(function () {
  "use strict";
  // The address: a change of province or city presses the form's own "更新地区选项" button.
  Array.prototype.forEach.call(document.querySelectorAll(".address select"), function (select) {
    if (/\.county$/.test(select.name)) { return; }
    select.addEventListener("change", function () {
      var refresh = select.parentNode.querySelector("button[value='refresh']");
      if (refresh) { refresh.click(); }
    });
  });
  // The designer: a preview request (the same form, action=preview) after a pause in typing;
  // the problems and the preview are taken from the answer and put in place.
  var editor = document.querySelector("form[data-live-preview]");
  if (!editor) { return; }
  var timer = null, serial = 0;
  function redraw() {
    var body = new URLSearchParams(new FormData(editor));
    body.set("action", "preview");
    var mine = ++serial;
    // getAttribute: the form has buttons named "action", which shadow the property.
    fetch(editor.getAttribute("action"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString()
    }).then(function (res) { return res.text(); }).then(function (html) {
      if (mine !== serial) { return; }
      var doc = new DOMParser().parseFromString(html, "text/html");
      ["problems", "preview"].forEach(function (id) {
        var fresh = doc.getElementById(id), here = document.getElementById(id);
        if (fresh && here) { here.replaceWith(fresh); }
      });
    }).catch(function () { /* the preview button still works */ });
  }
  editor.addEventListener("input", function (e) {
    if (e.target.tagName !== "TEXTAREA") { return; }
    clearTimeout(timer);
    timer = setTimeout(redraw, 600);
  });
})();
