/* Devstore stand-in for Shopify App Bridge (https://cdn.shopify.com/shopifycloud/app-bridge.js).
 *
 * Served at {devstore}/cdn/shopifycloud/app-bridge.js. Inside the devstore admin's app iframe it provides
 *   - shopify.idToken(): a fresh session token, minted by the devstore admin page (postMessage to the parent);
 *   - fetch() to the app's own origin carries "Authorization: Bearer <session token>", as App Bridge does;
 *   - the bounce page: a URL with ?shopify-reload=URL is reloaded with a fresh id_token;
 *   - shopify.toast.show(message) and shopify.config.apiKey.
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

  var meta = document.querySelector('meta[name="shopify-api-key"]');
  var script = document.currentScript;
  window.shopify = {
    __devstore: true,
    idToken: idToken,
    config: { apiKey: (meta && meta.content) || (script && script.getAttribute("data-api-key")) || "" },
    toast: {
      show: function (message) {
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
