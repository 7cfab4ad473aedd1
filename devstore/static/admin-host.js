/* The admin side of the devstore's App Bridge stand-in, on the page that frames the app. As the Shopify admin
 * does, it draws the app's title bar and navigation, shows toasts and the resource picker outside the iframe,
 * and hands out session tokens. The app's app-bridge.js talks to it with postMessage. */
(function () {
  "use strict";
  var cfg = window.DEVSTORE_ADMIN;
  var frame = document.querySelector("iframe");
  function post(message) { frame.contentWindow.postMessage(message, cfg.appOrigin); }

  function titleBar(d) {
    document.getElementById("app-title").textContent = d.title || "";
    var actions = document.getElementById("app-actions");
    actions.replaceChildren();
    (d.buttons || []).forEach(function (b, i) {
      var el = document.createElement("button");
      el.textContent = b.label;
      if (b.primary) { el.className = "primary"; }
      el.disabled = !!b.disabled;
      el.addEventListener("click", function () { post({ type: "devstore:title-bar-click", index: i }); });
      actions.appendChild(el);
    });
  }

  function nav(d) {
    var box = document.getElementById("app-nav");
    box.replaceChildren();
    (d.items || []).forEach(function (item) {
      var a = document.createElement("a");
      a.textContent = item.label;
      a.href = "#" + item.href;
      if (item.current) { a.setAttribute("aria-current", "page"); }
      a.addEventListener("click", function (e) { e.preventDefault(); post({ type: "devstore:navigate", href: item.href }); });
      box.appendChild(a);
    });
  }

  function toast(d) {
    var box = document.createElement("div");
    box.textContent = d.message;
    if (d.isError) { box.className = "error"; }
    document.getElementById("toasts").appendChild(box);
    setTimeout(function () { box.remove(); }, d.duration || 5000);
  }

  function picker(d) {
    var type = d.options && d.options.type === "collection" ? "collection" : "product";
    var multiple = !!(d.options && d.options.multiple);
    fetch(cfg.resourcesUrl + "?type=" + type).then(function (r) { return r.json(); }).then(function (body) {
      var dialog = document.createElement("dialog");
      dialog.className = "picker";
      dialog.setAttribute("aria-label", "Select " + type);
      var items = body.items || [];
      dialog.innerHTML = "<h2>Select " + (type === "collection" ? "a collection" : "products") + "</h2><ul></ul><div class='foot'>" +
        "<button type='button' data-pick='cancel'>Cancel</button><button type='button' class='primary' data-pick='select'>Select</button></div>";
      var list = dialog.querySelector("ul");
      if (!items.length) { list.innerHTML = "<li>Nothing to choose yet.</li>"; }
      items.forEach(function (item, i) {
        var li = document.createElement("li");
        var label = document.createElement("label");
        var input = document.createElement("input");
        input.type = multiple ? "checkbox" : "radio";
        input.name = "pick";
        input.value = String(i);
        label.appendChild(input);
        label.appendChild(document.createTextNode(item.title + (item.productsCount != null ? " (" + item.productsCount + " products)" : "")));
        li.appendChild(label);
        list.appendChild(li);
      });
      function finish(selection) { dialog.close(); dialog.remove(); post({ type: "devstore:resource-picker-result", id: d.id, selection: selection }); }
      dialog.querySelector("[data-pick=cancel]").addEventListener("click", function () { finish(undefined); });
      dialog.addEventListener("cancel", function () { finish(undefined); });
      dialog.querySelector("[data-pick=select]").addEventListener("click", function () {
        var chosen = Array.prototype.filter.call(list.querySelectorAll("input"), function (el) { return el.checked; })
          .map(function (el) { return items[Number(el.value)]; });
        finish(chosen.length ? chosen : undefined);
      });
      document.body.appendChild(dialog);
      dialog.showModal();
    });
  }

  window.addEventListener("message", function (e) {
    var d = e.data || {};
    if (e.origin !== cfg.appOrigin || e.source !== frame.contentWindow) { return; }
    if (d.type === "devstore:id-token") {
      fetch(cfg.tokenUrl, { method: "POST" }).then(function (r) { return r.json(); }).then(function (j) {
        post({ type: "devstore:id-token-result", id: d.id, token: j.session_token, error: j.error });
      });
    } else if (d.type === "devstore:title-bar") { titleBar(d); }
    else if (d.type === "devstore:nav") { nav(d); }
    else if (d.type === "devstore:toast") { toast(d); }
    else if (d.type === "devstore:resource-picker") { picker(d); }
  });
})();
