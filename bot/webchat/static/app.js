// The web chat page. Plain JS, no build step, nothing loaded from outside this server.
// Every text from the bot or the person is drawn with textContent, never as HTML.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const HISTORY_MAX = 200;
  const TOKEN_RE = /^[A-Za-z0-9_-]{22}$/;

  const store = {
    get(key, fallback) {
      try {
        const v = localStorage.getItem("webchat." + key);
        return v === null ? fallback : JSON.parse(v);
      } catch (e) {
        return fallback;
      }
    },
    set(key, value) {
      try {
        localStorage.setItem("webchat." + key, JSON.stringify(value));
      } catch (e) {
        /* private mode or full: the chat still works, it just forgets on reload */
      }
    },
  };

  function randomId() {
    const bytes = new Uint8Array(16); // 128 bits
    crypto.getRandomValues(bytes);
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // The chat token is who this browser is: kept so the person finds their chat again tomorrow.
  let token = store.get("token", null);
  if (typeof token !== "string" || !TOKEN_RE.test(token)) {
    token = randomId();
    store.set("token", token);
  }

  let history = store.get("history", []);
  let lastSeq = store.get("lastSeq", 0);
  let queue = store.get("queue", []); // frames sent but not yet confirmed ("done")
  let keyboard = store.get("keyboard", null);
  let config = { max_text: 4000, max_upload_bytes: 1048576, max_voice_s: 120, voice: true };

  let ws = null;
  let attempts = 0;
  let reconnectTimer = null;

  const log = $("log");
  const notice = $("notice");

  // -- drawing ------------------------------------------------------------------------------

  function showNotice(text) {
    if (text) {
      notice.textContent = text;
      notice.hidden = false;
    } else {
      notice.hidden = true;
      notice.textContent = "";
    }
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function drawButtons(rows, onPress) {
    const box = document.createElement("div");
    box.className = "choices";
    for (const row of rows) {
      const line = document.createElement("div");
      line.className = "row";
      for (const b of row) {
        const btn = document.createElement("button");
        btn.type = "button";
        btn.textContent = b.label;
        btn.addEventListener("click", () => onPress(b));
        line.appendChild(btn);
      }
      box.appendChild(line);
    }
    return box;
  }

  function draw(item) {
    const el = document.createElement("div");
    el.className = "msg " + item.who;
    if (item.seq) el.dataset.seq = item.seq;
    if (item.id) el.dataset.id = item.id;
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = item.text;
    if (item.who === "error") bubble.setAttribute("role", "alert");
    el.appendChild(bubble);
    if (item.photo) {
      const img = document.createElement("img");
      img.src = item.photo;
      img.alt = item.who === "me" ? "我发的照片" : "照片";
      el.appendChild(img);
    }
    if (item.buttons && item.buttons.length) el.appendChild(drawButtons(item.buttons, pressInline));
    if (item.who === "me" && queue.some((f) => f.id === item.id)) {
      el.classList.add("waiting");
      const state = document.createElement("div");
      state.className = "state";
      state.textContent = "发送中…";
      el.appendChild(state);
    }
    log.appendChild(el);
    scrollDown();
    return el;
  }

  function remember(item) {
    // Blob URLs do not survive a reload; keep only photos the server serves.
    const kept = Object.assign({}, item);
    if (kept.photo && kept.photo.startsWith("blob:")) delete kept.photo;
    history.push(kept);
    if (history.length > HISTORY_MAX) history = history.slice(-HISTORY_MAX);
    store.set("history", history);
  }

  function add(item) {
    remember(item);
    return draw(item);
  }

  function localError(text) {
    add({ who: "error", text });
  }

  function markSent(id) {
    const el = log.querySelector(`.msg.me[data-id="${id}"]`);
    if (!el) return;
    el.classList.remove("waiting");
    const state = el.querySelector(".state");
    if (state) state.remove();
  }

  function drawKeyboard() {
    const box = $("keyboard");
    box.replaceChildren();
    if (!keyboard || !keyboard.length) {
      box.hidden = true;
      return;
    }
    for (const row of keyboard) {
      const line = document.createElement("div");
      line.className = "row";
      for (const b of row) {
        const btn = document.createElement("button");
        btn.type = "button";
        btn.textContent = b.label;
        if (b.kind === "share_phone" || b.kind === "share_location") btn.className = "primary";
        btn.addEventListener("click", () => pressKey(b));
        line.appendChild(btn);
      }
      box.appendChild(line);
    }
    box.hidden = false;
  }

  function setKeyboard(rows) {
    keyboard = rows;
    store.set("keyboard", keyboard);
    drawKeyboard();
    if (!rows) $("phone-form").hidden = true;
  }

  // -- sending ------------------------------------------------------------------------------

  function send(frame, item) {
    frame.id = randomId();
    queue.push(frame);
    store.set("queue", queue);
    if (item) add(Object.assign({ who: "me", id: frame.id }, item));
    transmit(frame);
    if (!ws) showNotice("网络断开了。您的消息会在连上后自动发出。");
  }

  function transmit(frame) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  }

  function settle(id) {
    queue = queue.filter((f) => f.id !== id);
    store.set("queue", queue);
    markSent(id);
  }

  function pressInline(b) {
    send({ type: "button", data: b.data }, { text: "▶ " + b.label });
  }

  function pressKey(b) {
    if (b.kind === "share_phone") {
      askPhone();
    } else if (b.kind === "share_location") {
      sendLocation();
    } else if (b.kind === "callback") {
      pressInline(b);
    } else {
      send({ type: "text", text: b.label }, { text: b.label });
    }
  }

  function sendText(text) {
    if (!text.trim()) return;
    if (text.length > config.max_text) {
      localError(`这条消息太长了（最多 ${config.max_text} 个字），请分几次发送。`);
      return;
    }
    send({ type: "text", text }, { text });
  }

  // The web cannot vouch for a phone number the way Telegram's contact button does: ask for it.
  function askPhone() {
    const form = $("phone-form");
    form.hidden = false;
    $("phone-input").focus();
  }

  function sendPhone(raw) {
    const phone = raw.replace(/[\s\-()（）]/g, "");
    if (!/^(\+?86)?(1[3-9]\d{9}|0\d{9,11}|[2-9]\d{6,7})$/.test(phone)) {
      localError("电话号码不对。请输入手机号（11 位）或座机号。");
      return false;
    }
    send({ type: "contact", phone }, { text: "☎ " + phone });
    return true;
  }

  function sendLocation() {
    if (!navigator.geolocation) {
      localError("这个浏览器不能发送位置。请直接打字告诉我地址。");
      return;
    }
    showNotice("正在获取您的位置…");
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        showNotice(null);
        const lat = pos.coords.latitude;
        const lon = pos.coords.longitude;
        send({ type: "location", lat, lon }, { text: `📍 我的位置（${lat.toFixed(5)}, ${lon.toFixed(5)}）` });
      },
      () => {
        showNotice(null);
        localError("没能取得您的位置。请在手机设置里允许定位，或者直接打字告诉我地址。");
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  }

  async function upload(kind, blob) {
    if (blob.size > config.max_upload_bytes) throw new Error("too big");
    const r = await fetch("/webchat/upload?kind=" + kind, {
      method: "POST",
      headers: { "X-Chat-Token": token, "Content-Type": blob.type || "application/octet-stream" },
      body: blob,
    });
    const body = await r.json().catch(() => ({}));
    if (!r.ok || !body.ref) throw new Error(body.error || "HTTP " + r.status);
    return body.ref;
  }

  // Phone photos are several MB; a 1600px JPEG is plenty to see a broken street lamp.
  async function shrink(file) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch (e) {
      return file; // not an image the browser can read: let the server say so
    }
    const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
    if (scale === 1 && file.size <= config.max_upload_bytes && /^image\/(jpeg|png|webp)$/.test(file.type)) {
      return file;
    }
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    let blob = null;
    for (const q of [0.85, 0.7, 0.5, 0.3]) {
      blob = await new Promise((done) => canvas.toBlob(done, "image/jpeg", q));
      if (blob && blob.size <= config.max_upload_bytes) break;
    }
    return blob || file;
  }

  async function sendPhoto(file) {
    const input = $("text-input");
    const caption = input.value.trim() ? input.value : null;
    showNotice("正在发送照片…");
    try {
      const blob = await shrink(file);
      const ref = await upload("photo", blob);
      if (caption) input.value = "";
      const frame = { type: "photo", ref };
      if (caption) frame.caption = caption;
      showNotice(null);
      send(frame, { text: caption ? "📷 " + caption : "📷 照片", photo: URL.createObjectURL(blob) });
    } catch (e) {
      showNotice(null);
      localError("照片没有发出去。请再试一次，或者打字告诉我。");
    }
  }

  // -- voice: hold to record, release to send -------------------------------------------------

  const voice = { rec: null, stream: null, chunks: [], started: 0, timer: null, wantStop: false };

  function voiceLabel(text) {
    $("voice-label").textContent = text;
  }

  async function startVoice() {
    if (voice.rec) return;
    voice.wantStop = false;
    if (!config.voice) {
      localError("现在听不了语音。请打字告诉我，谢谢。");
      return;
    }
    if (!navigator.mediaDevices || !window.MediaRecorder) {
      localError("这个浏览器不能录音。请打字告诉我。");
      return;
    }
    try {
      voice.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      localError("没能打开话筒。请允许使用麦克风，或者打字告诉我。");
      return;
    }
    const types = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];
    const mimeType = types.find((t) => MediaRecorder.isTypeSupported(t));
    voice.rec = new MediaRecorder(voice.stream, mimeType ? { mimeType, audioBitsPerSecond: 32000 } : {});
    voice.chunks = [];
    voice.rec.ondataavailable = (e) => {
      if (e.data && e.data.size) voice.chunks.push(e.data);
    };
    voice.rec.onstop = finishVoice;
    voice.rec.start();
    voice.started = Date.now();
    $("voice-button").classList.add("recording");
    voiceLabel("正在录音，松开发送");
    voice.timer = setInterval(() => {
      const s = Math.floor((Date.now() - voice.started) / 1000);
      voiceLabel(`松开发送 ${s} 秒`);
      if (s >= config.max_voice_s) stopVoice();
    }, 500);
    if (voice.wantStop) stopVoice(); // released before the microphone was ready
  }

  function stopVoice() {
    voice.wantStop = true;
    if (voice.rec && voice.rec.state === "recording") voice.rec.stop();
  }

  async function finishVoice() {
    clearInterval(voice.timer);
    const rec = voice.rec;
    voice.rec = null;
    if (voice.stream) voice.stream.getTracks().forEach((t) => t.stop());
    $("voice-button").classList.remove("recording");
    voiceLabel("按住说话");
    const ms = Date.now() - voice.started;
    if (ms < 700) {
      localError("请按住“按住说话”不放，说完再松开。");
      return;
    }
    const blob = new Blob(voice.chunks, { type: (rec && rec.mimeType) || "audio/webm" });
    showNotice("正在发送语音…");
    try {
      const ref = await upload("voice", blob);
      showNotice(null);
      send({ type: "voice", ref }, { text: `🎤 语音 ${Math.round(ms / 1000)} 秒` });
    } catch (e) {
      showNotice(null);
      localError("语音没有发出去。请再试一次，或者打字告诉我。");
    }
  }

  // -- the connection -------------------------------------------------------------------------

  function onFrame(msg) {
    if (msg.type === "hello") {
      if (typeof msg.max_text === "number") config.max_text = msg.max_text;
      // The server's numbering started again (its data was reset): show everything it sends.
      if (lastSeq >= msg.next) {
        lastSeq = 0;
        store.set("lastSeq", lastSeq);
      }
    } else if (msg.type === "reply") {
      if (msg.seq > lastSeq) {
        lastSeq = msg.seq;
        store.set("lastSeq", lastSeq);
        add({ who: "bot", seq: msg.seq, text: msg.text, buttons: msg.buttons, photo: msg.photo });
        if (msg.keyboard) setKeyboard(msg.keyboard);
        else if (msg.remove_keyboard) setKeyboard(null);
      }
      transmit({ type: "ack", seq: msg.seq });
    } else if (msg.type === "done") {
      settle(msg.id);
    } else if (msg.type === "error") {
      if (msg.id) settle(msg.id);
      localError(msg.message);
    }
  }

  function connect() {
    clearTimeout(reconnectTimer);
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) return;
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(`${scheme}${location.host}/ws?chat=${encodeURIComponent(token)}`);
    ws.addEventListener("open", () => {
      attempts = 0;
      showNotice(null);
      document.body.dataset.connected = "yes";
      for (const frame of queue) transmit(frame); // same ids: the server ignores what it already had
    });
    ws.addEventListener("message", (e) => {
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      onFrame(msg);
    });
    ws.addEventListener("close", () => {
      document.body.dataset.connected = "no";
      ws = null;
      attempts += 1;
      // Back off 1, 2, 4 … 30 s, with jitter so a restarted server is not hit by everyone at once.
      const delay = Math.min(30000, 1000 * 2 ** (attempts - 1)) * (0.5 + Math.random() / 2);
      const why = navigator.onLine === false ? "手机没有联网，请检查网络。" : "网络断开了，正在重新连接…";
      showNotice(`${why}${queue.length ? "您的消息会在连上后自动发出。" : ""}`);
      reconnectTimer = setTimeout(connect, delay);
    });
  }

  async function loadConfig() {
    try {
      const r = await fetch("/webchat/config");
      if (r.ok) Object.assign(config, await r.json());
    } catch (e) {
      /* defaults are fine */
    }
  }

  // -- wiring -------------------------------------------------------------------------------

  function wire() {
    const input = $("text-input");
    $("composer").addEventListener("submit", (e) => {
      e.preventDefault();
      const text = input.value;
      if (!text.trim()) {
        input.focus();
        return;
      }
      input.value = "";
      input.style.height = "";
      sendText(text);
      input.focus();
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        $("composer").requestSubmit();
      }
    });
    input.addEventListener("input", () => {
      input.style.height = "";
      input.style.height = Math.min(input.scrollHeight + 6, 180) + "px";
    });

    $("phone-form").addEventListener("submit", (e) => {
      e.preventDefault();
      if (sendPhone($("phone-input").value)) {
        $("phone-input").value = "";
        $("phone-form").hidden = true;
      }
    });
    $("phone-cancel").addEventListener("click", () => {
      $("phone-form").hidden = true;
    });

    $("location-button").addEventListener("click", sendLocation);
    const photoInput = $("photo-input");
    photoInput.addEventListener("change", () => {
      const file = photoInput.files && photoInput.files[0];
      photoInput.value = "";
      if (file) sendPhoto(file);
    });
    $("photo-button").addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        photoInput.click();
      }
    });

    const mic = $("voice-button");
    mic.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      if (mic.setPointerCapture) mic.setPointerCapture(e.pointerId);
      startVoice();
    });
    mic.addEventListener("pointerup", stopVoice);
    mic.addEventListener("pointercancel", stopVoice);
    mic.addEventListener("contextmenu", (e) => e.preventDefault());
    mic.addEventListener("keydown", (e) => {
      if ((e.key === " " || e.key === "Enter") && !e.repeat) {
        e.preventDefault();
        startVoice();
      }
    });
    mic.addEventListener("keyup", (e) => {
      if (e.key === " " || e.key === "Enter") stopVoice();
    });

    window.addEventListener("online", connect);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") connect();
    });
  }

  async function start() {
    for (const item of history) draw(item);
    drawKeyboard();
    wire();
    showNotice("正在连接…");
    await loadConfig();
    connect();
    // A first visit starts the conversation the way Telegram's Start button does.
    if (!history.length && !lastSeq && !queue.length) send({ type: "text", text: "/start" }, null);
  }

  start();
})();
