// The exam room. Plain script, no framework: it must run on the locked-down browsers of exam
// rooms. The server is the truth: the countdown follows the server's deadline, an answer shows
// "已保存" only once the server has committed it, and answers given while the network is down
// wait in this browser (and survive a reload) until they can be sent, in order. A newer login
// elsewhere ends this page.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var S = window.sessionStorage, L = window.localStorage;
  var state = { token: S.getItem("exam_token"), attempt: null, current: 0, offset: 0,
    marks: {}, queue: [], sending: false, ended: false, timer: null };

  function api(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (state.token) { headers.Authorization = "Bearer " + state.token; }
    return fetch(path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (b) { return { status: r.status, body: b }; });
      });
  }

  function status(text, cls) { var el = $("save-status"); el.textContent = text; el.className = "save-status " + (cls || ""); }

  function end(title, text) {
    state.ended = true;
    if (state.timer) { clearInterval(state.timer); }
    $("exam-panel").hidden = true;
    $("ended").hidden = false;
    $("ended-title").textContent = title;
    $("ended-text").textContent = text || "";
  }

  function queueKey() { return "exam_queue_" + (state.attempt ? state.attempt.attempt_id : ""); }
  function persistQueue() { try { L.setItem(queueKey(), JSON.stringify(state.queue)); } catch (e) { /* storage full: the page still holds it */ } }

  // one request at a time, oldest first; a failure of the network keeps the queue for later
  function pump() {
    if (state.sending || state.ended || state.queue.length === 0) { return; }
    state.sending = true;
    var item = state.queue[0];
    status("保存中…", "busy");
    api("PUT", "/api/v1/exam/attempt/answers/" + item.position, { answer: item.answer, seq: item.seq })
      .then(function (r) {
        state.sending = false;
        if (r.status === 200) {
          state.queue.shift();
          persistQueue();
          var q = byPosition(item.position);
          if (q) { q.saved = true; }
          drawMap();
          status(state.queue.length ? "保存中…" : "已保存", state.queue.length ? "busy" : "ok");
          pump();
        } else if (r.status === 401) {
          end("已在其他设备登录", "本页面已停止作答。请在新的设备上继续；已保存的答案不会丢失。");
        } else if (r.status === 409) {
          end("考试已结束", (r.body.error && r.body.error.message) || "考试时间已到。");
        } else if (r.status === 422 || r.status === 404) {
          state.queue.shift(); persistQueue();
          status("有一个答案无效未保存：" + ((r.body.error && r.body.error.message) || ""), "bad");
          pump();
        } else {
          status("服务器繁忙，答案已暂存在本机，稍后自动重试", "bad");
          setTimeout(pump, 2000);
        }
      })
      .catch(function () {
        state.sending = false;
        status("网络已断开：答案已暂存在本机，恢复连接后自动保存", "bad");
        setTimeout(pump, 2000);
      });
  }

  function byPosition(p) {
    var qs = state.attempt.questions;
    for (var i = 0; i < qs.length; i++) { if (qs[i].position === p) { return qs[i]; } }
    return null;
  }

  function answered(q) { return q.answer !== null && q.answer !== "" && !(Array.isArray(q.answer) && q.answer.length === 0); }

  function drawMap() {
    var map = $("qmap");
    map.textContent = "";
    state.attempt.questions.forEach(function (q, i) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = q.position;
      b.className = "q" + (answered(q) ? " done" : "") + (state.marks[q.position] ? " marked" : "") + (i === state.current ? " on" : "");
      b.setAttribute("data-i", i);
      b.id = "map-" + q.position;
      map.appendChild(b);
    });
  }

  function choose(q, key, multiple, checked) {
    if (multiple) {
      var set = Array.isArray(q.answer) ? q.answer.slice() : [];
      var at = set.indexOf(key);
      if (checked && at < 0) { set.push(key); }
      if (!checked && at >= 0) { set.splice(at, 1); }
      set.sort();
      q.answer = set;
    } else {
      q.answer = key;
    }
    q.saved = false;
    // the time the answer was given, on the server's clock: a late, older save never wins
    var seq = Math.round((Date.now() + state.offset) * 1000);
    state.queue = state.queue.filter(function (x) { return x.position !== q.position; });
    state.queue.push({ position: q.position, answer: q.answer, seq: seq });
    persistQueue();
    drawMap();
    pump();
  }

  function drawQuestion() {
    var q = state.attempt.questions[state.current];
    var box = $("question");
    box.textContent = "";
    var h = document.createElement("p");
    h.className = "stem";
    h.id = "stem";
    h.textContent = q.position + ". [" + q.type + "，" + q.points + " 分] " + q.stem;
    box.appendChild(h);
    var multiple = q.type === "多选";
    q.options.forEach(function (o) {
      var label = document.createElement("label");
      label.className = "check option";
      var input = document.createElement("input");
      input.type = multiple ? "checkbox" : "radio";
      input.name = "answer";
      input.value = o.key;
      input.checked = multiple ? (Array.isArray(q.answer) && q.answer.indexOf(o.key) >= 0) : q.answer === o.key;
      input.addEventListener("change", function () { choose(q, o.key, multiple, input.checked); });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + o.key + ". " + o.text));
      box.appendChild(label);
    });
    $("mark").textContent = state.marks[q.position] ? "取消标记" : "标记此题";
    drawMap();
  }

  function tick() {
    var left = Math.max(0, Math.round((state.deadlineLocal - Date.now()) / 1000));
    var m = Math.floor(left / 60), s = left % 60;
    $("countdown").textContent = m + ":" + (s < 10 ? "0" : "") + s;
    if (left <= 0 && !state.ended) {
      submit(true);
    }
  }

  function show(a) {
    state.attempt = a;
    state.offset = 0;
    // the server's deadline on this computer's clock
    state.deadlineLocal = Date.now() + a.remaining_seconds * 1000;
    state.offset = (Date.parse(a.deadline + "Z") || 0) - state.deadlineLocal;
    try { state.marks = JSON.parse(L.getItem("exam_marks_" + a.attempt_id) || "{}"); } catch (e) { state.marks = {}; }
    try { state.queue = JSON.parse(L.getItem(queueKey()) || "[]"); } catch (e) { state.queue = []; }
    // answers waiting in this browser win over what the server had (they are newer)
    state.queue.forEach(function (x) { var q = byPosition(x.position); if (q) { q.answer = x.answer; } });
    $("login-panel").hidden = true;
    $("exam-panel").hidden = false;
    $("exam-head").hidden = false;
    state.current = Math.min(parseInt(S.getItem("exam_current") || "0", 10) || 0, a.questions.length - 1);
    drawQuestion();
    tick();
    state.timer = setInterval(tick, 1000);
    status(state.queue.length ? "保存中…" : "已保存", state.queue.length ? "busy" : "ok");
    pump();
  }

  function go(i) {
    state.current = Math.max(0, Math.min(state.attempt.questions.length - 1, i));
    S.setItem("exam_current", String(state.current));
    drawQuestion();
  }

  function start() {
    api("POST", "/api/v1/exam/attempt").then(function (r) {
      if (r.status === 200) { show(r.body); return; }
      if (r.status === 401) { S.removeItem("exam_token"); state.token = null; $("login-panel").hidden = false; return; }
      end("无法进入考场", (r.body.error && r.body.error.message) || "");
    }).catch(function () { $("login-error").textContent = "无法连接服务器，请稍后再试"; });
  }

  function submit(timeUp) {
    if (state.ended) { return; }
    if (!timeUp && !window.confirm("确定交卷吗？交卷后不能再修改答案。")) { return; }
    var tries = 0;
    (function wait() {
      // hand in once every answer on this page is saved (or the time is up)
      if (state.queue.length && tries++ < 20) { pump(); setTimeout(wait, 500); return; }
      api("POST", "/api/v1/exam/attempt/submit").then(function (r) {
        if (r.status === 200) {
          end(timeUp ? "考试时间已到，试卷已收回" : "已交卷", r.body.message || "");
          S.removeItem("exam_token");
        } else if (r.status === 401) {
          end("已在其他设备登录", "本页面已停止作答。");
        } else {
          end("考试已结束", (r.body.error && r.body.error.message) || "");
        }
      }).catch(function () { status("网络已断开，交卷未完成：恢复连接后请再次点击交卷", "bad"); });
    }());
  }

  $("exam-login").addEventListener("submit", function (ev) {
    ev.preventDefault();
    $("login-error").textContent = "";
    state.token = null;
    api("POST", "/api/v1/exam/login", {
      ticket_no: $("ticket_no").value.trim(), id_number: $("id_number").value.trim(), access_code: $("access_code").value.trim()
    }).then(function (r) {
      if (r.status !== 200) { $("login-error").textContent = (r.body.error && r.body.error.message) || "登录失败"; return; }
      state.token = r.body.token;
      S.setItem("exam_token", state.token);
      $("exam-who").textContent = r.body.name + " · " + r.body.session;
      start();
    }).catch(function () { $("login-error").textContent = "无法连接服务器，请稍后再试"; });
  });
  $("qmap").addEventListener("click", function (ev) { var i = ev.target.getAttribute("data-i"); if (i !== null) { go(parseInt(i, 10)); } });
  $("prev").addEventListener("click", function () { go(state.current - 1); });
  $("next").addEventListener("click", function () { go(state.current + 1); });
  $("mark").addEventListener("click", function () {
    var q = state.attempt.questions[state.current];
    if (state.marks[q.position]) { delete state.marks[q.position]; } else { state.marks[q.position] = true; }
    L.setItem("exam_marks_" + state.attempt.attempt_id, JSON.stringify(state.marks));
    drawQuestion();
  });
  $("submit").addEventListener("click", function () { submit(false); });
  window.addEventListener("online", pump);

  if (state.token) { start(); }
}());
