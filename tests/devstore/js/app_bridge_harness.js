// Runs devstore/static/app-bridge.js in a minimal fake browser (an iframe whose parent answers token
// requests) and prints what the app would observe, as JSON.
"use strict";
const fs = require("fs");
const vm = require("vm");

const source = fs.readFileSync(process.argv[2], "utf8");
const pageUrl = process.argv[3];
const out = { requests: [], replaced: null, toast: null, parentMessages: 0, parentTypes: [], picked: null };
const listeners = [];
const parent = {
  postMessage(message) {
    out.parentMessages += 1;
    out.parentTypes.push(message.type);
    // the devstore admin page answers token requests with a fresh token, and the picker with a choice
    const answer = message.type === "devstore:id-token"
      ? { type: "devstore:id-token-result", id: message.id, token: "tok-" + message.id }
      : message.type === "devstore:resource-picker"
        ? { type: "devstore:resource-picker-result", id: message.id,
            selection: [{ id: "gid://shopify/Collection/7", title: message.options.type }] }
        : null;
    if (!answer) { return; }
    setTimeout(() => { for (const l of listeners) { l({ source: parent, data: answer }); } }, 1);
  },
};
const appended = [];
const window = {
  location: { href: pageUrl, origin: new URL(pageUrl).origin, search: new URL(pageUrl).search,
              replace(u) { out.replaced = u; } },
  addEventListener(type, fn) { if (type === "message") listeners.push(fn); },
  fetch(input, init) {
    const headers = init && init.headers ? Object.fromEntries(new Headers(init.headers).entries()) : {};
    out.requests.push({ url: String(input), authorization: headers.authorization || null });
    return Promise.resolve({ ok: true });
  },
};
window.parent = parent;
const document = {
  querySelector() { return { content: "api-key-123" }; },
  currentScript: null,
  createElement() { return { style: {}, setAttribute() {}, remove() {} }; },
  body: { appendChild(el) { appended.push(el); } },
};
const context = vm.createContext({ window, document, URL, URLSearchParams, Headers, Promise, setTimeout,
                                   Object, Error });
vm.runInContext(source, context);
const shopify = window.shopify;
(async () => {
  await window.fetch("/api/products", { headers: { "X-Test": "1" } });
  await window.fetch("https://elsewhere.example/x");
  const token = await shopify.idToken();
  shopify.toast.show("Published");
  out.picked = await shopify.resourcePicker({ type: "collection" });
  out.token = token;
  out.apiKey = shopify.config.apiKey;
  out.toast = appended.length ? appended[0].textContent : null;
  setTimeout(() => { process.stdout.write(JSON.stringify(out)); }, 20);
})();
