/* Nu3D admin shell: products, their photo groups, generation progress, the finished model (preview PNG and
 * an interactive <model-viewer> of the GLB) and the merchant's decision.
 *
 * Data comes from the session-token JSON API (/app/api/...). App Bridge adds "Authorization: Bearer <session
 * token>" to fetch() calls to our own origin, so this file never handles tokens. The list is polled every few
 * seconds; a group's card is rebuilt only when what it shows changed, so an open 3D viewer is not reloaded.
 */
(function () {
  "use strict";

  var initial = JSON.parse(document.getElementById("initial-data").textContent);
  var container = document.getElementById("products");
  var notice = document.getElementById("notice");
  var pollMs = initial.poll_ms || 3000;
  var cards = new Map(); // group key -> {signature, element}
  var busy = false;
  var lastRendered = null; // signature of the whole list: an unchanged poll touches nothing

  var STATUS_TEXT = {
    not_queued: "not queued",
    queued: "queued",
    running: "generating",
    succeeded: "model ready",
    failed: "generation failed",
    canceled: "canceled",
  };
  // Approval.publish_status, as the merchant reads it.
  var PUBLISH_TEXT = {
    pending: "pending upload to Shopify",
    processing: "uploaded · Shopify processing",
    published: "READY on Shopify",
    failed: "FAILED on Shopify",
    unpublish_pending: "removing from Shopify",
  };

  function esc(value) {
    return String(value == null ? "" : value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function withoutQuery(url) {
    return url ? url.split("?")[0] : null;
  }

  function showNotice(message, ok) {
    notice.textContent = message;
    notice.className = ok ? "ok" : "";
    notice.hidden = !message;
    if (message && window.shopify && shopify.toast) {
      shopify.toast.show(message, { isError: !ok });
    }
  }

  function groupKey(product, group) {
    return product.id + ":" + group.lead_image_id;
  }

  // What the card shows; signed URLs change on every poll (new expiry), so only their paths count.
  function signature(product, group) {
    var model = group.model;
    return JSON.stringify([
      product.deleted,
      group.photos.map(function (p) { return [p.id, withoutQuery(p.url), p.view]; }),
      group.generation,
      group.approval && [group.approval.status, group.approval.publish_status, group.approval.error],
      model && [withoutQuery(model.glb_url), withoutQuery(model.preview_url)],
    ]);
  }

  function photosHtml(group) {
    return group.photos.map(function (p) {
      var label = p.view ? "<div>" + esc(p.view) + "</div>" : "";
      return '<div class="photo"><img src="' + esc(p.url) + '" alt="' + esc(p.alt || "") + '">' + label + "</div>";
    }).join("");
  }

  function generationHtml(group) {
    var gen = group.generation;
    var status = gen ? gen.status : "not_queued";
    var html = '<span class="status status-' + esc(status) + '" data-role="generation">' +
      esc(STATUS_TEXT[status] || status) + "</span>";
    if (gen && (status === "queued" || status === "running")) {
      html += '<span class="muted" data-role="stage">' + esc(gen.stage || (status === "queued" ? "waiting for a worker" : "starting")) +
        " · " + esc(gen.progress || 0) + '%</span><progress max="100" value="' + esc(gen.progress || 0) + '"></progress>';
    }
    if (gen && gen.error && status === "failed") {
      html += '<div class="error">' + esc(gen.error) + "</div>";
    }
    return html;
  }

  function approvalHtml(group) {
    var a = group.approval;
    if (!a) { return ""; }
    var html = '<span class="status approval-' + esc(a.status) + '" data-role="approval">' + esc(a.status) + "</span>";
    if (a.publish_status) {
      html += '<span class="status publish-' + esc(a.publish_status) + '" data-role="publish">' +
        esc(PUBLISH_TEXT[a.publish_status] || a.publish_status) + "</span>";
    }
    if (a.error) { html += '<div class="error">' + esc(a.error) + "</div>"; }
    return html;
  }

  function modelHtml(product, group) {
    var m = group.model;
    if (!m) { return ""; }
    var preview = m.preview_url ? '<img class="preview" src="' + esc(m.preview_url) + '" alt="preview of the 3D model">' : "";
    return '<div class="model">' + preview +
      '<model-viewer src="' + esc(m.glb_url) + '" alt="3D model of ' + esc(product.title) + '"' +
      (m.preview_url ? ' poster="' + esc(m.preview_url) + '"' : "") +
      ' camera-controls auto-rotate shadow-intensity="1" interaction-prompt="none"></model-viewer></div>';
  }

  function button(action, lead, text, primary) {
    return '<s-button data-action="' + action + '" data-image="' + lead + '"' + (primary ? ' variant="primary"' : "") + ">" + text + "</s-button>";
  }

  function actionsHtml(product, group) {
    if (product.deleted) { return ""; }
    var lead = esc(group.lead_image_id);
    var status = group.generation ? group.generation.status : "not_queued";
    var a = group.approval;
    var html = "";
    if (status === "succeeded") {
      if (!a || a.status !== "approved") { html += button("approve", lead, "Approve", true); }
      if (!a || a.status !== "rejected") { html += button("reject", lead, "Reject"); }
    }
    if (a) { html += button("withdraw", lead, "Undo decision"); }
    if (status === "queued" || status === "running") {
      html += button("cancel", lead, "Cancel");
    } else {
      html += button("regenerate", lead, status === "not_queued" ? "Generate" : "Regenerate");
    }
    return '<div class="actions">' + html + "</div>";
  }

  function cardHtml(product, group) {
    var views = group.multi_view ? '<div class="muted">' + group.photos.length + " views of one object, one model</div>" : "";
    return '<div class="photos">' + photosHtml(group) + "</div>" + views + generationHtml(group) +
      approvalHtml(group) + modelHtml(product, group) + actionsHtml(product, group);
  }

  function render(data) {
    var products = data.products || [];
    if (!products.length) {
      container.innerHTML = '<p id="empty">No products yet. New active products appear here as soon as Shopify tells us about them.</p>';
      cards.clear();
      lastRendered = null;
      return;
    }
    var whole = JSON.stringify(products.map(function (p) {
      return [p.id, p.title, p.status, p.groups.map(function (g) { return signature(p, g); })];
    }));
    if (whole === lastRendered) { return; }
    lastRendered = whole;
    var seen = new Set();
    var list = document.createElement("div");
    products.forEach(function (product) {
      var section = document.createElement("div");
      section.className = "product";
      section.dataset.productId = product.id;
      section.innerHTML = "<h3>" + esc(product.title || product.handle) + '<span class="meta">' + esc((product.status || "").toLowerCase()) +
        (product.deleted ? " · deleted in Shopify" : "") + "</span></h3>";
      var groups = document.createElement("div");
      groups.className = "groups";
      if (!product.groups.length) { groups.innerHTML = '<span class="muted">no photos</span>'; }
      product.groups.forEach(function (group) {
        var key = groupKey(product, group);
        var sig = signature(product, group);
        var card = cards.get(key);
        if (!card || card.signature !== sig) {
          var el = card ? card.element : document.createElement("div");
          el.className = "group";
          el.dataset.group = group.lead_image_id;
          el.dataset.status = group.generation ? group.generation.status : "not_queued";
          el.innerHTML = cardHtml(product, group);
          card = { signature: sig, element: el };
          cards.set(key, card);
        }
        seen.add(key);
        groups.appendChild(card.element);
      });
      section.appendChild(groups);
      list.appendChild(section);
    });
    cards.forEach(function (_, key) { if (!seen.has(key)) { cards.delete(key); } });
    container.replaceChildren.apply(container, Array.prototype.slice.call(list.children));
  }

  async function errorMessage(response) {
    var body = await response.json().catch(function () { return {}; });
    return (body.detail && body.detail.message) || body.message || "request failed (" + response.status + ")";
  }

  async function refresh() {
    var response = await fetch("/app/api/products?limit=100", { headers: { Accept: "application/json" } });
    if (!response.ok) { throw new Error(await errorMessage(response)); }
    render(await response.json());
  }

  async function poll() {
    try {
      if (!busy && !document.hidden) { await refresh(); }
    } catch (err) {
      showNotice("Could not refresh: " + err.message, false);
    }
    window.setTimeout(poll, pollMs);
  }

  var DONE = {
    approve: "Approved: the model will be published to the product.",
    reject: "Rejected.",
    withdraw: "Decision withdrawn.",
    regenerate: "A new model is being generated.",
    cancel: "Generation canceled.",
  };

  document.addEventListener("click", async function (event) {
    var el = event.target.closest("[data-action]");
    if (!el || el.hasAttribute("disabled")) { return; }
    var action = el.dataset.action;
    var url = "/app/api/images/" + encodeURIComponent(el.dataset.image) + "/" + (action === "withdraw" ? "approval" : action);
    busy = true;
    el.setAttribute("disabled", "");
    try {
      var response = await fetch(url, { method: action === "withdraw" ? "DELETE" : "POST" });
      if (!response.ok) {
        showNotice(await errorMessage(response), false);
        el.removeAttribute("disabled");
        return;
      }
      showNotice(DONE[action] || "Done.", true);
      await refresh();
    } catch (err) {
      showNotice("Request failed: " + err.message, false);
      el.removeAttribute("disabled");
    } finally {
      busy = false;
    }
  });

  render(initial);
  window.setTimeout(poll, pollMs);
})();
