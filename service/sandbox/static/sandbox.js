/* The sandbox chat page (/sandbox): a chat with the bot that looks and behaves like LINE.
 *
 * What the resident does goes to the app as LINE would send it: /sandbox/say (text, a
 * location, a postback) and /sandbox/say/image (a photo) post real signed webhooks to the
 * app's own /line/webhook and answer with what the LINE stand-in recorded as delivered; a
 * poll of /sandbox/deliveries shows what comes later (pushes). Deliveries are numbered:
 * `shown` is how many this page has drawn, so nothing is drawn twice. The page gives the
 * endpoints' URLs (#sb-urls), so it works under a reverse proxy's path prefix too.
 *
 * Replies are drawn as LINE shows them, by linebubbles.js (text bubbles, Flex bubbles and
 * carousels built from their JSON; the crew's alert preview draws with it too), and quick
 * reply chips above the input. Every text from the bot or the resident goes in with
 * textContent, never as HTML.
 */
(function () {
  "use strict";

  const POLL_MS = 1500;
  const WAIT_SECONDS = 15;

  const $ = (id) => document.getElementById(id);
  const { el, OPENABLE } = LineBubbles;
  const bubbles = LineBubbles.renderer(perform);
  const chat = $("sb-chat");
  const quick = $("sb-quick");
  const statusLine = $("sb-status");
  const textBox = $("sb-text");
  const fileInput = $("sb-file");
  const language = $("sb-language");
  const dialog = $("sb-map-dialog");
  const picked = $("sb-picked");
  const mapSend = $("sb-map-send");
  const picker = JSON.parse($("sb-map-data").textContent);
  const urls = JSON.parse($("sb-urls").textContent);

  const state = { userId: "", shown: 0, busy: 0, stopped: false };
  let map = null;
  let pickMarker = null;
  let pickedAt = null;

  function newUserId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "U" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function clock(date) {
    return date.toLocaleTimeString("ja-JP", { hour: "2-digit", minute: "2-digit" });
  }

  function setStatus(text, isError) {
    statusLine.textContent = text || "";
    statusLine.classList.toggle("sb-error", Boolean(isError));
  }

  /* A new pretend resident: LINE tells the bot a user's language once, so a new language
   * needs a new user. */
  function newChat() {
    state.userId = newUserId();
    state.shown = 0;
    state.stopped = false;
    chat.replaceChildren();
    showQuick(null);
    const who = language.selectedOptions[0].textContent;
    note(`新しい会話（LINEの言語: ${who}）New chat, LINE language: ${who}`);
    setStatus("");
  }

  function scrollDown() {
    chat.scrollTop = chat.scrollHeight;
  }

  function note(text) {
    chat.append(el("p", "sb-note", text));
    scrollDown();
  }

  function rawDetails(label, value) {
    const details = el("details", "sb-raw");
    details.append(el("summary", null, label), el("pre", null, JSON.stringify(value, null, 1)));
    return details;
  }

  function addRow(side, content, when, title) {
    const row = el("div", `sb-row sb-row-${side}`);
    if (side === "bot") {
      const avatar = el("span", "sb-avatar", "C");
      avatar.setAttribute("aria-hidden", "true");
      row.append(avatar);
    }
    const body = el("div", "sb-content");
    body.append(content);
    const meta = el("span", "sb-time", clock(when));
    if (title) meta.title = title;
    row.append(body, meta);
    chat.append(row);
    scrollDown();
    return body;
  }

  // ------------------------------------------------------------------ actions

  function openUri(uri) {
    try {
      const url = new URL(uri, location.href);
      if (OPENABLE.includes(url.protocol)) window.open(url.href, "_blank", "noopener,noreferrer");
      else note(`このリンクはサンドボックスでは開けません Cannot open here: ${uri}`);
    } catch (err) {
      note(`リンクが正しくありません Bad link: ${uri}`);
    }
  }

  function perform(action) {
    if (!action) return;
    switch (action.type) {
      case "message":
        sendText(action.text);
        break;
      case "postback":
        sendPostback(action.data, action.displayText || action.text || null);
        break;
      case "uri":
        openUri(action.uri);
        break;
      case "location":
        openMap();
        break;
      case "camera":
      case "cameraRoll":
        pickPhoto(action.type === "camera");
        break;
      default:
        // datetimepicker, richmenuswitch, clipboard: not part of this bot's conversation.
        note(`「${action.label || action.type}」（${action.type}）はサンドボックスでは使えません ` +
          `(not available in the sandbox)`);
    }
  }

  // ------------------------------------------------------------------ answers

  function showQuick(quickReply) {
    quick.replaceChildren();
    const items = (quickReply && quickReply.items) || [];
    for (const item of items) {
      const action = item.action || {};
      const chip = el("button", `sb-chip sb-chip-${action.type}`, action.label || action.type);
      chip.type = "button";
      chip.addEventListener("click", () => perform(action));
      quick.append(chip);
    }
    quick.hidden = items.length === 0;
  }

  /* Draw the deliveries of an answer that this page has not drawn yet. */
  function showAnswers(data, userId) {
    if (userId !== state.userId || !data || !Array.isArray(data.answers)) return;
    let last = null;
    data.answers.forEach((delivery, offset) => {
      const number = data.from + offset;
      if (number < state.shown) return;
      const when = new Date(delivery.at * 1000);
      for (const message of delivery.messages) {
        const body = addRow("bot", bubbles.message(message), when, delivery.via);
        body.append(rawDetails(`${delivery.via} JSON`, message));
        last = message;
      }
      state.shown = number + 1;
    });
    // LINE shows the quick reply of the latest message only, until the next one arrives.
    if (last) showQuick(last.quickReply);
  }

  function problem(status, data) {
    const detail = data && data.detail;
    if (Array.isArray(detail)) {
      return detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    }
    if (status === 504) return "ボットの返事がまだありません（届いたら表示します）No answer yet";
    return `${status}: ${detail || "error"}`;
  }

  async function talk(url, init, sentBody) {
    const userId = state.userId;
    state.busy += 1;
    setStatus("ボットが応答中… The bot is answering…");
    try {
      const response = await fetch(url, init);
      const data = await response.json().catch(() => null);
      if (userId !== state.userId) return;
      if (response.ok) {
        setStatus("");
        sentBody.append(rawDetails("webhook event JSON", data.event));
        showAnswers(data, userId);
      } else {
        setStatus(problem(response.status, data), true);
      }
    } catch (err) {
      setStatus(`送れませんでした Could not send: ${err}`, true);
    } finally {
      state.busy -= 1;
    }
  }

  function say(fields, content) {
    const sentBody = addRow("user", content, new Date());
    showQuick(null);
    const body = {
      user_id: state.userId, language: language.value, since: state.shown,
      timeout: WAIT_SECONDS, ...fields,
    };
    return talk(urls.say, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }, sentBody);
  }

  function sendText(text) {
    if (text) say({ text }, bubbles.textBubble("user", text));
  }

  function sendPostback(data, displayText) {
    // LINE shows displayText as the resident's message; the bot gets only the postback.
    const shown = displayText ? bubbles.textBubble("user", displayText)
      : el("div", "line-bubble line-bubble-user sb-quiet", "（ポストバック postback）");
    say({ postback: { data } }, shown);
  }

  function sendLocation(lat, lon) {
    say({ latitude: lat, longitude: lon }, bubbles.locationCard("位置情報 Location", lat, lon));
  }

  function pickPhoto(camera) {
    if (camera) fileInput.setAttribute("capture", "environment");
    else fileInput.removeAttribute("capture");
    fileInput.value = "";
    fileInput.click();
  }

  function sendPhoto(file) {
    const preview = el("img", "line-photo");
    preview.src = URL.createObjectURL(file);
    preview.alt = `送った写真 Photo sent: ${file.name}`;
    const sentBody = addRow("user", preview, new Date());
    showQuick(null);
    const form = new FormData();
    form.append("image", file);
    form.append("user_id", state.userId);
    form.append("language", language.value);
    form.append("since", String(state.shown));
    form.append("timeout", String(WAIT_SECONDS));
    return talk(urls.say_image, { method: "POST", body: form }, sentBody);
  }

  async function poll() {
    if (state.busy || state.stopped || document.hidden) return;
    const userId = state.userId;
    const query = new URLSearchParams({ user_id: userId, since: String(state.shown) });
    try {
      const response = await fetch(`${urls.deliveries}?${query}`);
      const data = await response.json().catch(() => null);
      if (response.status === 409 && userId === state.userId) {
        state.stopped = true;
        setStatus(problem(response.status, data), true);
      } else if (response.ok) {
        showAnswers(data, userId);
      }
    } catch (err) {
      setStatus(`アプリに接続できません Cannot reach the app: ${err}`, true);
    }
  }

  // ------------------------------------------------------------------ the map picker

  function openMap() {
    dialog.showModal();
    if (map) {
      map.invalidateSize();
      return;
    }
    map = L.map("sb-map", { attributionControl: true }).setView([picker.lat, picker.lon], picker.zoom);
    map.attributionControl.addAttribution("出典: 国土地理院, 国土数値情報");
    if (picker.area) {
      L.geoJSON(picker.area, {
        interactive: false, style: { color: "#06c755", weight: 2, fill: false },
      }).addTo(map);
    }
    for (const [lat, lon, name] of picker.shelters) {
      const tip = el("span", null, name);
      L.circleMarker([lat, lon], {
        radius: 5, color: "#1e7f3c", weight: 1, fillColor: "#2fb35a", fillOpacity: 0.9,
      }).bindTooltip(tip).addTo(map);
    }
    map.on("click", (event) => pick(event.latlng));
  }

  function pick(latlng) {
    pickedAt = latlng;
    if (pickMarker) pickMarker.setLatLng(latlng);
    else {
      pickMarker = L.circleMarker(latlng, {
        radius: 9, color: "#d93025", weight: 3, fillColor: "#d93025", fillOpacity: 0.4,
      }).addTo(map);
    }
    picked.textContent = `選んだ場所 Picked: ${latlng.lat.toFixed(5)}, ${latlng.lng.toFixed(5)}`;
    mapSend.disabled = false;
  }

  // ------------------------------------------------------------------ wiring

  $("sb-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = textBox.value.trim();
    textBox.value = "";
    sendText(text);
  });
  $("sb-location").addEventListener("click", openMap);
  $("sb-photo").addEventListener("click", () => pickPhoto(false));
  fileInput.addEventListener("change", () => {
    if (fileInput.files && fileInput.files[0]) sendPhoto(fileInput.files[0]);
  });
  $("sb-map-cancel").addEventListener("click", () => dialog.close());
  // The keyboard's way to pick: move the map with the arrow keys, then take its centre.
  $("sb-map-centre").addEventListener("click", () => pick(map.getCenter()));
  mapSend.addEventListener("click", () => {
    dialog.close();
    if (pickedAt) sendLocation(Number(pickedAt.lat.toFixed(6)), Number(pickedAt.lng.toFixed(6)));
  });
  $("sb-new").addEventListener("click", newChat);
  language.addEventListener("change", newChat);
  $("sb-raw").addEventListener("change", (event) => {
    document.body.classList.toggle("sb-show-raw", event.target.checked);
  });

  newChat();
  setInterval(poll, POLL_MS);
})();
