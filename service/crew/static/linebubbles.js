/* LINE messages drawn as the LINE app shows them: text bubbles (URLs as links), Flex bubbles
 * and carousels built from their JSON, images, locations. The sandbox chat page (/sandbox)
 * draws the bot's answers with it, and the crew's alert page (/crew/alerts) the alert a
 * resident will get, so both show a message the same way.
 *
 *     const bubbles = LineBubbles.renderer(perform);   // perform(action): a tapped action
 *     node.append(bubbles.message(message));           // one message of the Messaging API
 *
 * Every text goes in with textContent, never as HTML; colours and sizes from the JSON are
 * checked before they reach a style; images load only from this app. Styles:
 * linebubbles.css. No dependency.
 */
(function () {
  "use strict";
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

  /* An element with a class and a text (textContent: never parsed as HTML). */
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /* The renderer of messages whose actions (buttons, tappable boxes) call `perform`;
   * without it they are drawn but do nothing (a preview). */
  function renderer(perform) {
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
      const bubble = el("div", `line-bubble line-bubble-${side}`);
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
      const box = el("div", `${className} line-placeholder`, `画像 image (${host})`);
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

    function clickable(node, action) {
      if (!action || !perform) return;
      node.classList.add("line-clickable");
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
      const node = el("div", `line-box line-box-${layout}`);
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
      const node = el("div", component.wrap ? "line-text line-wrap" : "line-text");
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
        node.classList.add("line-clamp");
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
        node = el("a", `line-fbutton line-fbutton-${style}`, label);
        try {
          const url = new URL(action.uri, location.href);
          if (OPENABLE.includes(url.protocol)) node.href = url.href;
        } catch (err) {
          node.title = "bad link";
        }
        node.target = "_blank";
        node.rel = "noopener noreferrer";
      } else {
        node = el("button", `line-fbutton line-fbutton-${style}`, label);
        node.type = "button";
        if (perform) node.addEventListener("click", () => perform(action));
      }
      if (component.height === "sm") node.classList.add("line-fbutton-sm");
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
          return flexImage(component, "line-fimage");
        case "icon": {
          const icon = imageOrPlaceholder(component.url, "line-ficon");
          const size = length(component.size || "md", TEXT_SIZES);
          if (size) icon.style.height = icon.style.width = size;
          return icon;
        }
        case "separator": {
          const line = el("div", parentLayout === "vertical" ? "line-sep" : "line-sep line-sep-v");
          if (colour(component.color)) line.style.backgroundColor = component.color;
          return line;
        }
        case "filler":
          return el("div", "line-filler");
        case "spacer": {
          const space = el("div", "line-filler");
          space.style.height = length(component.size || "md", SPACING) || "8px";
          return space;
        }
        case "video":
          return component.altContent ? part(component.altContent, parentLayout)
            : el("div", "line-placeholder", "動画 video");
        default:
          return el("div", "line-placeholder", `[${component && component.type}]`);
      }
    }

    function flexBubble(bubble) {
      const node = el("div", "line-fbubble");
      node.style.width = BUBBLE_WIDTHS[bubble.size] || BUBBLE_WIDTHS.mega;
      const styles = bubble.styles || {};
      let previous = false;
      for (const name of ["header", "hero", "body", "footer"]) {
        const content = bubble[name];
        if (!content) continue;
        const block = el("div", `line-block line-block-${name}`);
        const style = styles[name] || {};
        if (colour(style.backgroundColor)) block.style.backgroundColor = style.backgroundColor;
        if (style.separator && previous) {
          block.style.borderTop = `1px solid ${colour(style.separatorColor) || "#e5e5e5"}`;
        }
        block.append(name === "hero" && content.type === "image"
          ? flexImage({ size: "full", ...content }, "line-fimage line-hero")
          : placed(part(content, "vertical"), content, "vertical"));
        node.append(block);
        previous = true;
      }
      clickable(node, bubble.action);
      return node;
    }

    function flexMessage(message) {
      const contents = message.contents || {};
      const wrap = el("div", "line-flex");
      if (contents.type === "carousel") {
        const carousel = el("div", "line-carousel");
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
          return imageOrPlaceholder(message.previewImageUrl || message.originalContentUrl, "line-photo");
        case "location":
          return locationCard(message.title || "位置情報 Location", message.latitude, message.longitude);
        case "sticker":
          return textBubble("bot", "（スタンプ sticker）");
        default:
          return textBubble("bot", message.altText || `[${message.type}]`);
      }
    }

    function locationCard(title, lat, lon) {
      const card = el("div", "line-location");
      card.append(el("strong", null, title),
        el("span", null, `${Number(lat).toFixed(5)}, ${Number(lon).toFixed(5)}`));
      return card;
    }

    return { message: renderMessage, textBubble, locationCard };
  }

  window.LineBubbles = { renderer, el, OPENABLE };
})();
