/* Devstore stand-in for Shopify App Bridge (https://cdn.shopify.com/shopifycloud/app-bridge.js).
 *
 * Served at {devstore}/cdn/shopifycloud/app-bridge.js. Inside the devstore admin's app iframe it provides
 *   - shopify.idToken(): a fresh session token, minted by the devstore admin page (postMessage to the parent);
 *   - fetch() to the app's own origin carries "Authorization: Bearer <session token>", as App Bridge does;
 *   - the bounce page: a URL with ?shopify-reload=URL is reloaded with a fresh id_token;
 *   - shopify.toast.show(message, {isError}) — drawn by the devstore admin page, outside the iframe;
 *   - shopify.resourcePicker({type: "collection"|"product", multiple}) — the admin's picker dialog; resolves
 *     to [{id, title, handle, ...}] or undefined when the merchant cancels;
 *   - <ui-title-bar> (title and buttons) and <ui-nav-menu> (links), drawn in the admin page, with clicks and
 *     navigation sent back (a nav click dispatches `shopify:navigate` with `detail.href` on the document);
 *   - <ui-modal id> with shopify.modal.show(id) / hide(id): a native <dialog> whose footer holds the modal's
 *     own title-bar buttons (their click listeners fire), with `show` / `hide` events on the ui-modal;
 *   - shopify.config.apiKey.
 */
(function () {
  "use strict";
  if (window.shopify && window.shopify.__devstore) { return; }
  var pending = {};
  var seq = 0;
  var embedded = window.parent && window.parent !== window;

  function idToken() {
    return new Promise(function (resolve, reject) {
      if (!embedded) { reject(new Error("not embedded in the devstore admin")); return; }
      var id = ++seq;
      pending[id] = { resolve: resolve, reject: reject };
      window.parent.postMessage({ type: "devstore:id-token", id: id }, "*");
      setTimeout(function () {
        if (pending[id]) { delete pending[id]; reject(new Error("the devstore admin did not answer")); }
      }, 5000);
    });
  }

  window.addEventListener("message", function (event) {
    var data = event.data || {};
    if (event.source !== window.parent || data.type !== "devstore:id-token-result" || !pending[data.id]) { return; }
    var entry = pending[data.id];
    delete pending[data.id];
    if (data.token) { entry.resolve(data.token); } else { entry.reject(new Error(data.error || "no token")); }
  });

  var originalFetch = window.fetch ? window.fetch.bind(window) : null;
  if (originalFetch && embedded) {
    window.fetch = function (input, init) {
      var url = new URL(typeof input === "string" ? input : input.url, window.location.href);
      if (url.origin !== window.location.origin) { return originalFetch(input, init); }
      return idToken().then(function (token) {
        var options = Object.assign({}, init || {});
        var headers = new Headers(options.headers || (typeof input === "string" ? undefined : input.headers));
        if (!headers.has("Authorization")) { headers.set("Authorization", "Bearer " + token); }
        options.headers = headers;
        return originalFetch(input, options);
      });
    };
  }

  var pickers = {};
  window.addEventListener("message", function (event) {
    var data = event.data || {};
    if (event.source !== window.parent) { return; }
    if (data.type === "devstore:resource-picker-result" && pickers[data.id]) {
      pickers[data.id](data.selection || undefined);
      delete pickers[data.id];
    } else if (data.type === "devstore:title-bar-click") {
      var bar = pageTitleBar();
      var buttons = bar ? bar.querySelectorAll(":scope > button") : [];
      if (buttons[data.index]) { buttons[data.index].click(); }
    } else if (data.type === "devstore:navigate") {
      document.dispatchEvent(new CustomEvent("shopify:navigate", { detail: { href: data.href } }));
    }
  });

  function toParent(message) { if (embedded) { window.parent.postMessage(message, "*"); } }

  function resourcePicker(options) {
    return new Promise(function (resolve, reject) {
      if (!embedded) { reject(new Error("the resource picker needs the devstore admin")); return; }
      var id = ++seq;
      pickers[id] = resolve;
      toParent({ type: "devstore:resource-picker", id: id, options: options || {} });
    });
  }

  // ---- title bar and navigation, drawn by the admin page
  function pageTitleBar() {
    return Array.prototype.find.call(document.querySelectorAll("ui-title-bar"), function (el) { return !el.closest("ui-modal"); });
  }
  function sendTitleBar() {
    var bar = pageTitleBar();
    if (!bar) { return; }
    var buttons = Array.prototype.map.call(bar.querySelectorAll(":scope > button"), function (b) {
      return { label: b.textContent.trim(), primary: b.getAttribute("variant") === "primary", disabled: b.disabled };
    });
    toParent({ type: "devstore:title-bar", title: bar.getAttribute("title") || "", buttons: buttons });
  }
  function sendNav() {
    var menu = document.querySelector("ui-nav-menu");
    if (!menu) { return; }
    var here = window.location.pathname.replace(/\/+$/, "");
    var items = Array.prototype.map.call(menu.querySelectorAll("a"), function (a) {
        var href = a.getAttribute("href");
        return { label: a.textContent.trim(), href: href, current: here === href.replace(/\/+$/, "") };
      });
    toParent({ type: "devstore:nav", items: items });
  }
  var scheduled = false;
  function scheduleChrome() {
    if (scheduled) { return; }
    scheduled = true;
    setTimeout(function () { scheduled = false; sendTitleBar(); sendNav(); }, 0);
  }
  function watch(el) {
    new MutationObserver(scheduleChrome).observe(el, { attributes: true, childList: true, subtree: true, characterData: true });
    scheduleChrome();
  }
  if (window.history) {  // client-side navigation changes which nav item is current
    ["pushState", "replaceState"].forEach(function (name) {
      var original = window.history[name];
      window.history[name] = function () { var out = original.apply(this, arguments); scheduleChrome(); return out; };
    });
  }
  window.addEventListener("popstate", scheduleChrome);

  // ---- modals: a native dialog holding the modal's content, its title and buttons
  function modalDialog(modal) {
    if (modal.__dialog) { return modal.__dialog; }
    var dialog = document.createElement("dialog");
    dialog.style.cssText = "border:0;border-radius:12px;padding:0;width:min(480px,94vw);font:14px system-ui,sans-serif";
    var heading = document.createElement("h2");
    heading.style.cssText = "font-size:15px;margin:0;padding:14px 16px;border-bottom:1px solid #e3e3e3";
    var body = document.createElement("div");
    var foot = document.createElement("div");
    foot.style.cssText = "display:flex;justify-content:flex-end;gap:8px;padding:12px 16px;border-top:1px solid #e3e3e3";
    dialog.append(heading, body, foot);
    modal.__dialog = { dialog: dialog, heading: heading, body: body, foot: foot };
    dialog.addEventListener("close", function () { modal.dispatchEvent(new Event("hide")); });
    document.body.appendChild(dialog);
    return modal.__dialog;
  }
  function showModal(id) {
    var modal = document.getElementById(id);
    if (!modal) { throw new Error("no ui-modal with id " + id); }
    var parts = modalDialog(modal);
    var bar = modal.querySelector("ui-title-bar");
    parts.heading.textContent = bar ? bar.getAttribute("title") || "" : "";
    Array.prototype.forEach.call(modal.children, function (child) { if (child !== bar) { parts.body.appendChild(child); } });
    Array.prototype.forEach.call(bar ? bar.querySelectorAll("button") : [], function (b) {
      b.style.cssText = "font:600 12px system-ui;padding:6px 12px;border-radius:8px;border:1px solid #d4d4d4;cursor:pointer;" +
        (b.getAttribute("variant") === "primary" ? (b.getAttribute("tone") === "critical" ? "background:#c70a24;" : "background:#303030;") + "color:#fff" : "background:#fff");
      parts.foot.appendChild(b);
    });
    parts.dialog.showModal();
    modal.dispatchEvent(new Event("show"));
  }
  function hideModal(id) {
    var modal = document.getElementById(id);
    if (modal && modal.__dialog && modal.__dialog.dialog.open) { modal.__dialog.dialog.close(); }
  }

  if (window.customElements) {
    ["ui-title-bar", "ui-nav-menu", "ui-modal"].forEach(function (name) {
      if (customElements.get(name)) { return; }
      customElements.define(name, class extends HTMLElement {
        connectedCallback() {
          this.style.display = "none";
          if (name !== "ui-modal" && !this.closest("ui-modal")) { watch(this); }
        }
      });
    });
  }

  var meta = document.querySelector('meta[name="shopify-api-key"]');
  var script = document.currentScript;
  window.shopify = {
    __devstore: true,
    idToken: idToken,
    config: { apiKey: (meta && meta.content) || (script && script.getAttribute("data-api-key")) || "" },
    resourcePicker: resourcePicker,
    modal: { show: showModal, hide: hideModal },
    toast: {
      show: function (message, options) {
        if (embedded) {
          toParent({ type: "devstore:toast", message: String(message), isError: !!(options && options.isError), duration: options && options.duration });
          return;
        }
        var box = document.createElement("div");
        box.textContent = message;
        box.setAttribute("role", "status");
        box.style.cssText = "position:fixed;bottom:16px;left:50%;transform:translateX(-50%);background:#303030;" +
          "color:#fff;padding:8px 16px;border-radius:8px;font:14px sans-serif;z-index:99999";
        document.body.appendChild(box);
        setTimeout(function () { box.remove(); }, 3000);
      }
    }
  };

  var reload = new URLSearchParams(window.location.search).get("shopify-reload");
  if (reload) {
    idToken().then(function (token) {
      var target = new URL(reload, window.location.href);
      target.searchParams.set("id_token", token);
      window.location.replace(target.toString());
    });
  }
})();
