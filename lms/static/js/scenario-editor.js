// The scenario editor: live validation (the server checks; this only places its answer) and rows added in place.
(function () {
  var form = document.querySelector("form[data-check]");
  if (!form) { return; }
  var state = form.querySelector("[data-check-state]");
  var timer = null;
  var asked = 0;

  function boxes() { return Array.prototype.slice.call(document.querySelectorAll(".se-form [data-for]")); }

  function show(problems) {
    boxes().forEach(function (box) { box.textContent = ""; });
    problems.forEach(function (p) {
      if (!p.field) { return; }
      var box = document.querySelector('.se-form [data-for="' + p.field + '"]') ||
        document.querySelector('.se-form [data-for="node"]') || document.querySelector('.se-form [data-for="top"]');
      if (!box) { return; }
      var line = document.createElement("p");
      line.textContent = p.message;
      box.appendChild(line);
    });
    var list = document.querySelector("[data-problem-list]");
    var count = document.querySelector("[data-problem-count]");
    if (list) {
      list.textContent = "";
      problems.forEach(function (p) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = p.href;
        link.textContent = p.where;
        item.appendChild(link);
        item.appendChild(document.createTextNode("：" + p.message));
        list.appendChild(item);
      });
    }
    var all = document.getElementById("all-problems");
    if (all) { all.classList.toggle("has-problems", problems.length > 0); if (problems.length) { all.open = true; } }
    if (count) { count.textContent = problems.length ? "有" + problems.length + "个问题" : "检查通过"; }
    if (state) { state.textContent = problems.length ? "有" + problems.length + "个问题（尚未保存）" : "检查通过（尚未保存）"; }
  }

  function check() {
    var mine = ++asked;
    if (state) { state.textContent = "正在检查……"; }
    fetch(form.getAttribute("data-check"), { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (d) { if (mine === asked) { show(d.problems); } })
      .catch(function () { if (state) { state.textContent = "网络中断，暂时无法检查；保存草稿不受影响"; } });
  }

  // A branch shows the variable and the number only for the kinds that read them.
  function kinds() {
    Array.prototype.forEach.call(form.querySelectorAll("select[name$='-kind']"), function (select) {
      var row = select.closest("[data-row]");
      Array.prototype.forEach.call(row.querySelectorAll("[data-show-for]"), function (el) {
        el.hidden = el.getAttribute("data-show-for").split(" ").indexOf(select.value) < 0;
      });
    });
  }
  form.addEventListener("change", kinds);

  function later() { clearTimeout(timer); timer = setTimeout(check, 700); }
  form.addEventListener("input", later);
  form.addEventListener("change", later);

  // 再加一行: copy the list's empty last row with the next free number.
  Array.prototype.forEach.call(form.querySelectorAll("[data-add-row]"), function (button) {
    button.addEventListener("click", function () {
      var set = button.closest("[data-rows]");
      var kind = set.getAttribute("data-rows");
      var rows = set.querySelectorAll("[data-row]");
      var last = rows[rows.length - 1];
      var next = 0;
      Array.prototype.forEach.call(set.querySelectorAll("[name]"), function (el) {
        var m = el.name.match(new RegExp("^" + kind + "-(\\d+)-"));
        if (m) { next = Math.max(next, parseInt(m[1], 10) + 1); }
      });
      var copy = last.cloneNode(true);
      Array.prototype.forEach.call(copy.querySelectorAll("[name]"), function (el) {
        el.name = el.name.replace(new RegExp("^" + kind + "-\\d+-"), kind + "-" + next + "-");
        if (el.name.slice(-5) === "-orig") { el.value = ""; }
        else if (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.type !== "hidden" && el.type !== "checkbox")) { el.value = ""; }
        else if (el.type === "checkbox") { el.checked = false; }
      });
      Array.prototype.forEach.call(copy.querySelectorAll("[data-for]"), function (box) {
        box.setAttribute("data-for", kind + "-" + next);
        box.textContent = "";
      });
      copy.setAttribute("data-field", kind + "-" + next);
      last.parentNode.insertBefore(copy, last.nextSibling);
      var first = copy.querySelector("textarea, input:not([type=hidden])");
      if (first) { first.focus(); }
    });
  });
})();
