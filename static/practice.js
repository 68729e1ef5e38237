// Practice: check one question at a time without leaving the page. The server decides; the
// answer is never in the page before the officer has answered. Without JavaScript the form's
// "交卷并查看解析" still grades the whole paper.
(function () {
  "use strict";
  var form = document.getElementById("practice-paper");
  if (!form) { return; }
  var csrf = form.getAttribute("data-csrf");

  function text(tag, cls, content) {
    var el = document.createElement(tag);
    if (cls) { el.className = cls; }
    el.textContent = content;
    return el;
  }

  function show(box, r) {
    box.textContent = "";
    box.appendChild(text("p", r.correct ? "right" : "wrong",
      (r.correct ? "回答正确" : "回答错误") + "。正确答案：" + r.answer));
    if (r.explanation) { box.appendChild(text("p", "", r.explanation)); }
    if (r.basis) { box.appendChild(text("p", "muted", "法律依据：" + r.basis)); }
    if (r.article_text) { box.appendChild(text("pre", "law", r.article_text)); }
  }

  form.addEventListener("click", function (ev) {
    var btn = ev.target;
    if (!btn.classList || !btn.classList.contains("check-one")) { return; }
    var id = btn.getAttribute("data-id");
    var box = document.getElementById("result-" + id);
    var chosen = Array.prototype.slice.call(form.querySelectorAll("input[name='a_" + id + "']:checked"))
      .map(function (i) { return i.value; });
    if (chosen.length === 0) { box.textContent = "请先选择答案"; return; }
    btn.disabled = true;
    fetch("/api/v1/practice/check", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ version_id: Number(id), answer: chosen.join("") })
    }).then(function (resp) {
      return resp.json().then(function (body) { return { ok: resp.ok, body: body }; });
    }).then(function (r) {
      if (r.ok) { show(box, r.body); } else { box.textContent = (r.body.error && r.body.error.message) || "核对失败，请重试"; }
    }).catch(function () {
      box.textContent = "网络连接中断，请稍后再试";
    }).then(function () { btn.disabled = false; });
  });
}());
