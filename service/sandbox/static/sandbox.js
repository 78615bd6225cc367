/* The sandbox chat page (/sandbox): a chat with the bot that looks and behaves like LINE.
 *
 * What the resident does goes to the app as LINE would send it: /sandbox/say (text, a
 * location, a postback) and /sandbox/say/image (a photo) post real signed webhooks to the
 * app's own /line/webhook and answer with what the LINE stand-in recorded as delivered; a
 * poll of /sandbox/deliveries shows what comes later (pushes). Deliveries are numbered:
 * `shown` is how many this page has drawn, so nothing is drawn twice. The page gives the
 * endpoints' URLs (#sb-urls), so it works under a reverse proxy's path prefix too.
 *
 * Replies are drawn as LINE shows them: text bubbles (URLs as links), Flex bubbles and
 * carousels built from their JSON, quick reply chips above the input. Every text from the bot
 * or the resident goes in with textContent, never as HTML; colours and sizes from the JSON
 * are checked before they reach a style.
 */
(function () {
  "use strict";

  const POLL_MS = 1500;
  const WAIT_SECONDS = 15;
  const TEXT_SIZES = {
    xxs: "11px", xs: "13px", sm: "14px", md: "16px", lg: "19px", xl: "22px", xxl: "29px",
    "3xl": "35px", "4xl": "48px", "5xl": "74px",
  };
  const SPACING = {
    none: "0", xs: "2px", sm: "4px", md: "8px", lg: "12px", xl: "16px", xxl: "20px",
  };
  const RADIUS = { none: "0", xs: "2px", sm: "4px", md: "8px", lg: "12px", xl: "16px", xxl: "20px" };
  const BORDER = { none: "0", light: "0.5px", normal: "1px", medium: "2px", "semi-bold": "3px", bold: "4px" };
  const IMAGE_SIZES = {
    xxs: "40px", xs: "60px", sm: "80px", md: "100px", lg: "120px", xl: "140px", xxl: "160px",
    "3xl": "180px", "4xl": "200px", "5xl": "220px", full: "100%",
  };
  const BUBBLE_WIDTHS = {
    nano: "120px", micro: "160px", deca: "220px", hecto: "241px", kilo: "260px",
    mega: "300px", giga: "500px",
  };
  const ALIGN = { start: "flex-start", end: "flex-end", center: "center" };
  const JUSTIFY = {
    "flex-start": "flex-start", "flex-end": "flex-end", center: "center",
    "space-between": "space-between", "space-around": "space-around", "space-evenly": "space-evenly",
  };
  const LENGTH = /^\d+(\.\d+)?(px|%)$/;
  const COLOUR = /^#([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/;
  const URL_IN_TEXT = /https?:\/\/[!-~]+/g;
  const TRAILING = /[.,;:!?)\]'"]+$/;
  const OPENABLE = ["http:", "https:", "tel:", "mailto:"];

  const $ = (id) => document.getElementById(id);
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

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

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
    const who = language.value === "en" ? "English" : "日本語";
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

  /* Text with its URLs as links (http/https only), the rest as text nodes. */
  function linkified(text) {
    const fragment = document.createDocumentFragment();
    let last = 0;
    for (const match of text.matchAll(URL_IN_TEXT)) {
      const url = match[0].replace(TRAILING, "");
      fragment.append(text.slice(last, match.index));
      const link = el("a", null, url);
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      fragment.append(link);
      last = match.index + url.length;
    }
    fragment.append(text.slice(last));
    return fragment;
  }

  function textBubble(side, text) {
    const bubble = el("div", `sb-bubble sb-bubble-${side}`);
    bubble.append(linkified(text));
    return bubble;
  }

  function sameOrigin(url) {
    try {
      const parsed = new URL(url, location.href);
      return parsed.origin === location.origin || parsed.protocol === "data:";
    } catch (err) {
      return false;
    }
  }

  /* An image only from this app: anything else would be a request leaving a closed network. */
  function imageOrPlaceholder(url, className) {
    if (url && sameOrigin(url)) {
      const img = el("img", className);
      img.src = url;
      img.alt = "";
      return img;
    }
    let host = "";
    try {
      host = new URL(url).host;
    } catch (err) {
      host = "?";
    }
    const box = el("div", `${className} sb-placeholder`, `画像 image (${host})`);
    box.title = url || "";
    return box;
  }

  function length(value, table) {
    if (value === undefined || value === null) return null;
    if (table && Object.prototype.hasOwnProperty.call(table, value)) return table[value];
    return LENGTH.test(String(value)) ? String(value) : null;
  }

  function colour(value) {
    return typeof value === "string" && COLOUR.test(value) ? value : null;
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

  function clickable(node, action) {
    if (!action) return;
    node.classList.add("sb-clickable");
    node.tabIndex = 0;
    node.setAttribute("role", action.type === "uri" ? "link" : "button");
    if (action.label) node.setAttribute("aria-label", action.label);
    node.addEventListener("click", (event) => {
      event.stopPropagation();
      perform(action);
    });
    node.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        perform(action);
      }
    });
  }

  // ------------------------------------------------------------------ Flex

  /* Size and spacing a component takes in its parent box, as LINE lays it out: `flex` is a
   * share of the parent's main axis (default 1 across a row, 0 down a column). */
  function placed(node, component, parentLayout, gap) {
    const across = parentLayout === "horizontal" || parentLayout === "baseline";
    const flex = Number.isFinite(component.flex) ? component.flex : across ? 1 : 0;
    node.style.flex = flex > 0 ? `${flex} 1 0` : "0 0 auto";
    const margin = length(component.margin !== undefined ? component.margin : gap, SPACING);
    if (margin) node.style[across ? "marginLeft" : "marginTop"] = margin;
    const align = ALIGN[component.align];
    if (align && component.type !== "text") node.style.alignSelf = align;
    const gravity = ALIGN[{ top: "start", bottom: "end", center: "center" }[component.gravity]];
    if (gravity && across) node.style.alignSelf = gravity;
    return node;
  }

  function box(component) {
    const layout = ["horizontal", "baseline"].includes(component.layout)
      ? component.layout : "vertical";
    const node = el("div", `sb-box sb-box-${layout}`);
    const style = node.style;
    const pad = (name, value) => {
      const size = length(value, SPACING);
      if (size) style[name] = size;
    };
    pad("padding", component.paddingAll);
    pad("paddingTop", component.paddingTop);
    pad("paddingBottom", component.paddingBottom);
    pad("paddingLeft", component.paddingStart);
    pad("paddingRight", component.paddingEnd);
    if (colour(component.backgroundColor)) style.backgroundColor = component.backgroundColor;
    const border = length(component.borderWidth, BORDER);
    if (border) style.border = `${border} solid ${colour(component.borderColor) || "#000000"}`;
    const radius = length(component.cornerRadius, RADIUS);
    if (radius) style.borderRadius = radius;
    for (const name of ["width", "height", "maxWidth", "maxHeight"]) {
      const size = length(component[name]);
      if (size) style[name] = size;
    }
    if (JUSTIFY[component.justifyContent]) style.justifyContent = JUSTIFY[component.justifyContent];
    if (ALIGN[component.alignItems]) style.alignItems = ALIGN[component.alignItems];
    (component.contents || []).forEach((child, index) => {
      const gap = index > 0 ? component.spacing : undefined;
      node.append(placed(part(child, layout), child, layout, gap));
    });
    clickable(node, component.action);
    return node;
  }

  function styledText(node, component) {
    const size = length(component.size, TEXT_SIZES);
    if (size) node.style.fontSize = size;
    if (component.weight === "bold") node.style.fontWeight = "bold";
    if (component.style === "italic") node.style.fontStyle = "italic";
    if (colour(component.color)) node.style.color = component.color;
    if (["underline", "line-through"].includes(component.decoration)) {
      node.style.textDecoration = component.decoration;
    }
  }

  function flexText(component) {
    const node = el("div", component.wrap ? "sb-text sb-wrap" : "sb-text");
    if (Array.isArray(component.contents) && component.contents.length) {
      for (const span of component.contents) {
        const piece = el("span", null, span.text);
        styledText(piece, span);
        node.append(piece);
      }
    } else {
      node.textContent = component.text || "";
    }
    styledText(node, component);
    if (ALIGN[component.align]) node.style.textAlign = component.align === "end" ? "right"
      : component.align === "center" ? "center" : "left";
    if (component.wrap && Number.isInteger(component.maxLines) && component.maxLines > 0) {
      node.classList.add("sb-clamp");
      node.style.webkitLineClamp = String(component.maxLines);
    }
    clickable(node, component.action);
    return node;
  }

  function flexButton(component) {
    const action = component.action || {};
    const style = ["primary", "secondary"].includes(component.style) ? component.style : "link";
    const label = action.label || "";
    let node;
    if (action.type === "uri") {
      node = el("a", `sb-fbutton sb-fbutton-${style}`, label);
      try {
        const url = new URL(action.uri, location.href);
        if (OPENABLE.includes(url.protocol)) node.href = url.href;
      } catch (err) {
        node.title = "bad link";
      }
      node.target = "_blank";
      node.rel = "noopener noreferrer";
    } else {
      node = el("button", `sb-fbutton sb-fbutton-${style}`, label);
      node.type = "button";
      node.addEventListener("click", () => perform(action));
    }
    if (component.height === "sm") node.classList.add("sb-fbutton-sm");
    const tint = colour(component.color);
    if (tint && style === "link") node.style.color = tint;
    else if (tint) node.style.backgroundColor = tint;
    return node;
  }

  function flexImage(component, className) {
    const node = imageOrPlaceholder(component.url, className);
    const width = length(component.size || "md", IMAGE_SIZES);
    if (width) node.style.width = width;
    const ratio = /^(\d+(\.\d+)?):(\d+(\.\d+)?)$/.exec(component.aspectRatio || "1:1");
    if (ratio) node.style.aspectRatio = `${ratio[1]} / ${ratio[3]}`;
    node.style.objectFit = component.aspectMode === "cover" ? "cover" : "contain";
    if (colour(component.backgroundColor)) node.style.backgroundColor = component.backgroundColor;
    clickable(node, component.action);
    return node;
  }

  function part(component, parentLayout) {
    switch (component && component.type) {
      case "box":
        return box(component);
      case "text":
        return flexText(component);
      case "button":
        return flexButton(component);
      case "image":
        return flexImage(component, "sb-fimage");
      case "icon": {
        const icon = imageOrPlaceholder(component.url, "sb-ficon");
        const size = length(component.size || "md", TEXT_SIZES);
        if (size) icon.style.height = icon.style.width = size;
        return icon;
      }
      case "separator": {
        const line = el("div", parentLayout === "vertical" ? "sb-sep" : "sb-sep sb-sep-v");
        if (colour(component.color)) line.style.backgroundColor = component.color;
        return line;
      }
      case "filler":
        return el("div", "sb-filler");
      case "spacer": {
        const space = el("div", "sb-filler");
        space.style.height = length(component.size || "md", SPACING) || "8px";
        return space;
      }
      case "video":
        return component.altContent ? part(component.altContent, parentLayout)
          : el("div", "sb-placeholder", "動画 video");
      default:
        return el("div", "sb-placeholder", `[${component && component.type}]`);
    }
  }

  function flexBubble(bubble) {
    const node = el("div", "sb-fbubble");
    node.style.width = BUBBLE_WIDTHS[bubble.size] || BUBBLE_WIDTHS.mega;
    const styles = bubble.styles || {};
    let previous = false;
    for (const name of ["header", "hero", "body", "footer"]) {
      const content = bubble[name];
      if (!content) continue;
      const block = el("div", `sb-block sb-block-${name}`);
      const style = styles[name] || {};
      if (colour(style.backgroundColor)) block.style.backgroundColor = style.backgroundColor;
      if (style.separator && previous) {
        block.style.borderTop = `1px solid ${colour(style.separatorColor) || "#e5e5e5"}`;
      }
      block.append(name === "hero" && content.type === "image"
        ? flexImage({ size: "full", ...content }, "sb-fimage sb-hero")
        : placed(part(content, "vertical"), content, "vertical"));
      node.append(block);
      previous = true;
    }
    clickable(node, bubble.action);
    return node;
  }

  function flexMessage(message) {
    const contents = message.contents || {};
    const wrap = el("div", "sb-flex");
    if (contents.type === "carousel") {
      const carousel = el("div", "sb-carousel");
      carousel.tabIndex = 0;  // a scrolling region: reachable by keyboard
      carousel.setAttribute("role", "group");
      carousel.setAttribute("aria-label", message.altText || "carousel");
      for (const bubble of contents.contents || []) carousel.append(flexBubble(bubble));
      wrap.append(carousel);
    } else {
      const single = flexBubble(contents);
      single.setAttribute("aria-label", message.altText || "");
      wrap.append(single);
    }
    return wrap;
  }

  function renderMessage(message) {
    switch (message.type) {
      case "text":
      case "textV2":
        return textBubble("bot", message.text || "");
      case "flex":
        return flexMessage(message);
      case "image":
        return imageOrPlaceholder(message.previewImageUrl || message.originalContentUrl, "sb-photo");
      case "location":
        return locationCard(message.title || "位置情報 Location", message.latitude, message.longitude);
      case "sticker":
        return textBubble("bot", "（スタンプ sticker）");
      default:
        return textBubble("bot", message.altText || `[${message.type}]`);
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
        const body = addRow("bot", renderMessage(message), when, delivery.via);
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
    if (text) say({ text }, textBubble("user", text));
  }

  function sendPostback(data, displayText) {
    // LINE shows displayText as the resident's message; the bot gets only the postback.
    const shown = displayText ? textBubble("user", displayText)
      : el("div", "sb-bubble sb-bubble-user sb-quiet", "（ポストバック postback）");
    say({ postback: { data } }, shown);
  }

  function locationCard(title, lat, lon) {
    const card = el("div", "sb-location");
    card.append(el("strong", null, title),
      el("span", null, `${Number(lat).toFixed(5)}, ${Number(lon).toFixed(5)}`));
    return card;
  }

  function sendLocation(lat, lon) {
    say({ latitude: lat, longitude: lon }, locationCard("位置情報 Location", lat, lon));
  }

  function pickPhoto(camera) {
    if (camera) fileInput.setAttribute("capture", "environment");
    else fileInput.removeAttribute("capture");
    fileInput.value = "";
    fileInput.click();
  }

  function sendPhoto(file) {
    const preview = el("img", "sb-photo");
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
