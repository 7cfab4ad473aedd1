/* Devstore stand-in for Shopify's Polaris web components (https://cdn.shopify.com/shopifycloud/polaris.js).
 *
 * Served at {devstore}/cdn/shopifycloud/polaris.js (with polaris-forms.js appended) so an embedded app works
 * offline the way it does in the admin: the components an app uses are custom elements with open shadow roots
 * and named slots, properties (`value`, `checked`, `values`, `disabled`), and events fired on the element
 * itself (`click`, `input`, `change`, `nextpage`, `previouspage`, `dismiss`). It is not Polaris's look, only
 * its contract. Like the devstore's GraphQL endpoint, it checks what the app sends: every `s-*` element and
 * attribute the page creates must exist in Polaris's Custom Elements Manifest (window.__polarisComponents,
 * injected by the devstore from devstore/polaris_components.json); anything else is reported with
 * console.error and kept in window.__polarisStandIn.violations, which browser tests assert empty.
 */
(function () {
  "use strict";
  if (window.__polarisStandIn) { return; }
  var manifest = (window.__polarisComponents || {}).components || {};
  var standIn = window.__polarisStandIn = { violations: [], css: "" };

  // ------------------------------------------------------------------ the manifest check
  var GLOBAL_ATTRIBUTES = { id: 1, class: 1, style: 1, slot: 1, hidden: 1 };
  function checkElement(el) {
    var tag = el.localName;
    if (tag.slice(0, 2) !== "s-") { return; }
    var spec = manifest[tag];
    if (!spec) { report(tag + " is not a Polaris web component"); return; }
    for (var i = 0; i < el.attributes.length; i++) {
      var name = el.attributes[i].name;
      if (GLOBAL_ATTRIBUTES[name] || name.slice(0, 5) === "data-" || name.slice(0, 5) === "aria-") { continue; }
      if (spec.attributes.indexOf(name) < 0) { report(tag + " has no attribute " + JSON.stringify(name)); }
    }
    var slot = el.getAttribute("slot"), parent = el.parentElement;
    if (slot && parent && manifest[parent.localName] && manifest[parent.localName].slots.indexOf(slot) < 0) {
      report(parent.localName + " has no slot " + JSON.stringify(slot));
    }
  }
  function report(message) {
    if (standIn.violations.indexOf(message) >= 0) { return; }
    standIn.violations.push(message);
    console.error("Polaris stand-in: " + message);
  }
  function checkTree(node) {
    if (node.nodeType !== 1) { return; }
    checkElement(node);
    var all = node.getElementsByTagName("*");
    for (var i = 0; i < all.length; i++) { checkElement(all[i]); }
  }
  new MutationObserver(function (records) {
    records.forEach(function (r) {
      if (r.type === "attributes") { checkElement(r.target); } else { r.addedNodes.forEach(checkTree); }
    });
  }).observe(document.documentElement, { childList: true, subtree: true, attributes: true });

  // ------------------------------------------------------------------ shared shadow styles
  var TONES = { success: "#cdfee1;--fg:#0c5132", critical: "#fed1d7;--fg:#8e0b21", warning: "#ffd6a4;--fg:#5e4200",
    caution: "#ffef9d;--fg:#4f4700", info: "#e0f0ff;--fg:#00527c" };
  var toneCss = Object.keys(TONES).map(function (t) { return ":host([tone=" + t + "]){--bg:" + TONES[t] + "}"; }).join("");
  var sheet = new CSSStyleSheet();
  sheet.replaceSync([
    ":host{box-sizing:border-box}:host([hidden]){display:none!important}*{box-sizing:border-box}[hidden]{display:none!important}",
    "button,a.button{font:600 12px/16px inherit;font-family:inherit;display:inline-flex;align-items:center;gap:4px;",
    "padding:6px 12px;border-radius:8px;border:0;background:#fff;color:#303030;cursor:pointer;white-space:nowrap;",
    "text-decoration:none;min-height:28px;box-shadow:0 0 0 1px #d4d4d4 inset,0 -1px 0 #d4d4d4 inset}",
    "button:hover{background:#f7f7f7}button[disabled]{opacity:.5;cursor:default}",
    ":host([variant=primary]) .button{background:#303030;color:#fff;box-shadow:0 -1px 0 #000 inset}",
    ":host([tone=critical][variant=primary]) .button{background:#c70a24}:host([tone=critical]) .button{color:#8e0b21}",
    ":host([variant=primary][tone=critical]) .button{color:#fff}",
    ":host([variant=tertiary]) .button{background:none;box-shadow:none;color:#005bd3;padding:6px 4px}",
    ":host([inlinesize=fill]) .button{width:100%;justify-content:center}",
    ".button[aria-pressed=true]{background:#ebebeb;box-shadow:none}",
    ".clickable{all:unset;display:block;box-sizing:border-box;width:100%;cursor:pointer;border-radius:inherit}",
    ":focus-visible{outline:2px solid #005bd3;outline-offset:1px}",
    ":host([type=strong]),:host([fontweight=semibold]),:host([fontweight=bold]){font-weight:650}:host([color=subdued]){color:#616161}",
    ":host([tone=critical]) p{color:#8e0b21}:host([tone=success]) p{color:#0c5132}.h{font-weight:650;font-size:14px;margin:0 0 4px}",
    "a{color:#005bd3}",
    ".label{display:block;font-weight:550;margin:0 0 4px}.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    ".details{display:block;font-size:12px;color:#616161;margin-top:4px}.error{display:block;font-size:12px;color:#8e0b21;margin-top:4px}",
    ".details:empty,.error:empty{display:none}",
    "input:not([type=checkbox]):not([type=radio]),select{font:inherit;padding:6px 10px;border-radius:8px;border:1px solid #8a8a8a;",
    "background:#fff;min-height:32px;width:100%}:host([error]) input,:host([error]) select{border-color:#8e0b21;background:#fee9e8}",
    ".check{display:flex;gap:8px;align-items:flex-start;cursor:pointer}.check input{margin:2px 0 0;width:16px;height:16px;flex:none}",
    ".badge{display:inline-flex;align-items:center;font-size:12px;line-height:20px;padding:0 8px;border-radius:8px;",
    "background:var(--bg,#e3e3e3);color:var(--fg,#303030);white-space:nowrap;font-weight:500}",
    toneCss,
    ".card{background:#fff;border-radius:12px;padding:16px;margin:0 0 16px;box-shadow:0 1px 0 rgba(26,26,26,.07),0 0 0 1px rgba(0,0,0,.04)}",
    ":host([padding=none]) .card{padding:0;overflow:hidden}h2.heading{font-size:14px;margin:0 0 8px}h2.heading:empty{display:none}",
    ".banner{border-radius:12px;padding:12px 16px;margin:0 0 16px;background:var(--bg,#eaf4ff);color:#303030;display:flex;gap:12px;align-items:flex-start}",
    ".banner .body{flex:1}.banner strong:empty{display:none}.banner strong{display:block}.banner .x{box-shadow:none;background:none}",
    "header{display:flex;align-items:center;gap:12px;flex-wrap:wrap;margin:4px 0 16px}h1{font-size:20px;margin:0;flex:1 1 auto;min-width:0;overflow-wrap:anywhere}",
    "h1:empty{display:none}.actions{display:flex;gap:8px;flex-wrap:wrap}",
    ".page{max-width:var(--page-width,1200px);margin:0 auto}:host([inlinesize=small]) .page{--page-width:640px}",
    "img{display:block;max-width:100%}progress{width:100%;height:6px;accent-color:#005bd3}",
    ".filters{padding:8px;border-bottom:1px solid #ebebeb}",
    ".table{display:table;width:100%;border-collapse:collapse}.pager{display:flex;justify-content:flex-end;gap:8px;padding:8px 12px}",
    ":host([loading]) .table{opacity:.6}",
  ].join(""));
  standIn.sheet = sheet;

  function shadow(el, html, focus) {
    var root = el.attachShadow({ mode: "open", delegatesFocus: !!focus });
    root.adoptedStyleSheets = [sheet];
    root.innerHTML = html;
    return root;
  }
  function text(value) { return value == null ? "" : String(value); }
  standIn.shadow = shadow;
  standIn.define = function (tag, cls) { if (!customElements.get(tag)) { customElements.define(tag, cls); } };
  function fire(el, type) { el.dispatchEvent(new Event(type, { bubbles: true })); }
  standIn.fire = fire;

  // A component whose shadow is drawn once and refreshed from its attributes.
  function component(tag, html, update, focus, extra) {
    var cls = class extends HTMLElement {
      static get observedAttributes() { return (manifest[tag] || { attributes: [] }).attributes; }
      connectedCallback() {
        if (!this.shadowRoot) { shadow(this, html, focus); if (extra && extra.setup) { extra.setup(this); } }
        update(this, this.shadowRoot);
      }
      attributeChangedCallback() { if (this.shadowRoot) { update(this, this.shadowRoot); } }
      get disabled() { return this.hasAttribute("disabled"); }
      set disabled(v) { this.toggleAttribute("disabled", !!v); }
    };
    standIn.define(tag, cls);
    return cls;
  }
  standIn.component = component;

  // ------------------------------------------------------------------ layout and display
  component("s-page", '<div class="page"><header><slot name="breadcrumb-actions"></slot><h1></h1><div class="actions">' +
    '<slot name="secondary-actions"></slot><slot name="primary-action"></slot></div></header><slot></slot><slot name="aside"></slot></div>',
    function (el, root) { root.querySelector("h1").textContent = text(el.getAttribute("heading")); });
  component("s-section", '<section class="card"><h2 class="heading"></h2><slot></slot></section>', function (el, root) {
    var card = root.querySelector("section");
    root.querySelector("h2").textContent = text(el.getAttribute("heading"));
    var label = el.getAttribute("accessibilitylabel") || el.getAttribute("heading");
    if (label) { card.setAttribute("aria-label", label); } else { card.removeAttribute("aria-label"); }
  });
  component("s-banner", '<div class="banner"><div class="body"><strong></strong><slot></slot><slot name="secondary-actions"></slot></div>' +
    '<button type="button" class="button x" aria-label="Dismiss" hidden>×</button></div>', function (el, root) {
    var tone = el.getAttribute("tone");
    root.querySelector(".banner").setAttribute("role", tone === "critical" ? "alert" : "status");
    root.querySelector("strong").textContent = text(el.getAttribute("heading"));
    root.querySelector(".x").hidden = !el.hasAttribute("dismissible");
  }, false, { setup: function (el) {
    el.shadowRoot.querySelector(".x").addEventListener("click", function () { el.hidden = true; fire(el, "dismiss"); fire(el, "afterhide"); });
  } });
  component("s-badge", '<span class="badge"><slot></slot></span>', function () {});
  component("s-heading", '<div class="h" role="heading" aria-level="2"><slot></slot></div>', function () {});
  component("s-paragraph", '<p style="margin:0 0 8px"><slot></slot></p>', function () {});
  component("s-text", "<slot></slot>", function () {});
  component("s-divider", '<hr style="border:0;border-top:1px solid #ebebeb;margin:8px 0">', function () {});
  var THUMB = { "small-200": 24, "small-100": 32, small: 40, base: 48, large: 60, "large-100": 80 };
  component("s-thumbnail", '<img alt="">', function (el, root) {
    var img = root.querySelector("img"), size = (THUMB[el.getAttribute("size")] || 48) + "px";
    img.style.cssText = "width:" + size + ";height:" + size + ";object-fit:cover;border-radius:8px;background:#f1f1f1;border:1px solid #e3e3e3";
    // without a src Polaris draws an empty placeholder tile, not a broken image
    if (el.getAttribute("src")) { img.src = el.getAttribute("src"); } else { img.removeAttribute("src"); }
    img.alt = text(el.getAttribute("alt"));
  }, false, { setup: function (el) {
    var img = el.shadowRoot.querySelector("img");
    img.className = "thumb";
    img.addEventListener("load", function () { fire(el, "load"); });
    img.addEventListener("error", function () { fire(el, "error"); });
  } });
  component("s-image", '<img alt="">', function (el, root) {
    var img = root.querySelector("img");
    img.src = text(el.getAttribute("src"));
    img.alt = text(el.getAttribute("alt"));
    img.loading = el.getAttribute("loading") || "eager";
    img.style.objectFit = el.getAttribute("objectfit") || "contain";
    img.style.aspectRatio = text(el.getAttribute("aspectratio")).replace(/\s/g, "") || "auto";
    img.style.width = el.getAttribute("inlinesize") === "fill" ? "100%" : "";
  });
  component("s-progress", "<progress></progress>", function (el, root) {
    var bar = root.querySelector("progress");
    bar.max = Number(el.getAttribute("max") || 1);
    if (el.hasAttribute("value")) { bar.value = Number(el.getAttribute("value")); } else { bar.removeAttribute("value"); }
    bar.setAttribute("aria-label", text(el.getAttribute("accessibilitylabel")));
  });
  // s-stack, s-grid, s-box: their attributes are CSS values (spacing keywords aside)
  var SPACE = { none: "0", "small-500": "2px", "small-400": "2px", "small-300": "4px", "small-200": "4px", "small-100": "6px",
    small: "8px", base: "12px", large: "16px", "large-100": "20px", "large-200": "24px", "large-300": "28px", "large-400": "32px", "large-500": "40px" };
  function space(value) { return text(value).split(/\s+/).map(function (v) { return SPACE[v] || v; }).join(" "); }
  function boxStyle(el, display) {
    var s = el.style;
    s.display = el.getAttribute("display") === "none" ? "none" : display;
    s.gap = space(el.getAttribute("gap"));
    s.padding = space(el.getAttribute("padding"));
    s.alignItems = text(el.getAttribute("alignitems"));
    s.justifyContent = text(el.getAttribute("justifycontent"));
    s.background = { subdued: "#f7f7f7", base: "#fff", strong: "#ebebeb" }[el.getAttribute("background")] || "";
    s.borderRadius = el.hasAttribute("borderradius") ? "8px" : "";
  }
  component("s-stack", "<slot></slot>", function (el) {
    boxStyle(el, "flex");
    el.style.flexDirection = el.getAttribute("direction") === "inline" ? "row" : "column";
    el.style.flexWrap = el.getAttribute("direction") === "inline" ? "wrap" : "";
  });
  component("s-grid", "<slot></slot>", function (el) {
    boxStyle(el, "grid");
    el.style.gridTemplateColumns = text(el.getAttribute("gridtemplatecolumns"));
  });
  component("s-box", "<slot></slot>", function (el) { boxStyle(el, "block"); });
  component("s-ordered-list", '<ol style="margin:8px 0 0;padding-left:20px"><slot></slot></ol>', function () {});
  component("s-unordered-list", '<ul style="margin:8px 0 0;padding-left:20px"><slot></slot></ul>', function () {});
  component("s-list-item", "<slot></slot>", function (el) { el.style.display = "list-item"; el.style.margin = "0 0 12px"; });
  // a clickable area: a button without a button's look, laid out like s-box
  component("s-clickable", '<button type="button" class="clickable"><slot></slot></button>', function (el, root) {
    boxStyle(el, "block");
    var b = root.querySelector("button");
    b.disabled = el.hasAttribute("disabled");
    if (el.getAttribute("accessibilitylabel")) { b.setAttribute("aria-label", el.getAttribute("accessibilitylabel")); }
  }, true);
  component("s-button-group", '<div style="display:flex;gap:8px;flex-wrap:wrap;align-items:center"><slot name="secondary-actions"></slot><slot></slot><slot name="primary-action"></slot></div>', function () {});
})();
