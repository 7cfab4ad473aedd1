/* Nu3D admin: one product — its photos (labelled views or one card per photo), each model in <model-viewer>
 * (AR, camera controls) and the Gaussian splat viewer, the preview image, model facts, the history of
 * generations with the choice of which to publish, and approve / reject / regenerate / withdraw. */
(function () {
  "use strict";
  var n = window.nu3d, esc = n.esc, badge = n.badge;
  var app = document.getElementById("app");
  var current = null; // {id, signature, splats: []}
  var HISTORY_STATUS = { queued: "Waiting to start", running: "Generating", succeeded: "Finished", failed: "Failed", canceled: "Stopped" };

  function withoutQuery(url) { return url ? url.split("?")[0] : null; }
  function signature(p) {
    return JSON.stringify(p.groups.map(function (g) {
      return [g.lead_image_id, g.generation, g.approval && [g.approval.status, g.approval.publish_status, g.approval.job_id, g.approval.error],
        g.model && withoutQuery(g.model.glb_url), g.photos.map(function (ph) { return ph.id; })];
    }));
  }

  function photosHtml(p, g) {
    if (g.multi_view) {
      return '<div class="photos">' + g.photos.map(function (ph) {
        return '<figure class="photo"><s-image src="' + esc(ph.url) + '" alt="' + esc(ph.alt || p.title + ", " + ph.view + " view") + '" aspectratio="1" objectfit="contain" inlinesize="fill"></s-image><figcaption class="view">' + esc(ph.view) + "</figcaption></figure>";
      }).join("") + '</div><s-paragraph color="subdued">' + g.photos.length + " views of one object, made into one model.</s-paragraph>";
    }
    var ph = g.photos[0];
    var position = p.images.findIndex(function (i) { return i.id === ph.id; }) + 1;
    return '<div class="photos single"><figure class="photo"><s-image src="' + esc(ph.url) + '" alt="' + esc(ph.alt || p.title) + '" aspectratio="1" objectfit="contain" inlinesize="fill"></s-image><figcaption>Photo ' + position + " of " + p.images.length + "</figcaption></figure></div>";
  }

  function factsHtml(m) {
    var f = m.facts || {};
    var size = f.size_m ? f.size_m.map(function (v) { return (v * 100).toFixed(1); }).join(" × ") + " cm" : "—";
    return '<dl class="facts" data-role="facts"><dt>Faces</dt><dd data-fact="faces">' + (f.faces != null ? Number(f.faces).toLocaleString() : "—") +
      '</dd><dt>File size</dt><dd data-fact="file-size">…</dd><dt>Size (W × H × D)</dt><dd data-fact="size">' + esc(size) +
      '</dd><dt>Generation time</dt><dd data-fact="time">' + esc(f.duration_s != null ? n.seconds(f.duration_s) : "—") + "</dd></dl>";
  }

  function statusHtml(g) {
    var s = n.groupState(g), gen = g.generation, html = badge(s[0], s[1], "state");
    if (gen && (gen.status === "queued" || gen.status === "running")) {
      html += '<s-paragraph data-role="stage">' + esc(n.stageText(gen.stage, gen.status)) + " · " + esc(gen.progress || 0) + '%</s-paragraph><s-progress max="100" value="' + esc(gen.progress || 0) + '" accessibilitylabel="Generation progress"></s-progress>';
    }
    if (gen && gen.status === "failed" && gen.error) { html += '<s-paragraph tone="critical" data-role="error">' + esc(gen.error) + " Regenerate to try again, or use a clearer photo.</s-paragraph>"; }
    if (g.approval && g.approval.error) { html += '<s-paragraph tone="critical">' + esc(g.approval.error) + "</s-paragraph>"; }
    return html;
  }

  function actionsHtml(p, g) {
    if (p.deleted) { return '<s-paragraph color="subdued">This product was deleted in Shopify.</s-paragraph>'; }
    var lead = g.lead_image_id, status = g.generation ? g.generation.status : "not_queued", a = g.approval, html = "";
    function b(action, label, primary) { return "<s-button" + (primary ? ' variant="primary"' : "") + ' data-action="' + action + '" data-image="' + lead + '">' + label + "</s-button>"; }
    if (status === "succeeded") {
      if (!a || a.status !== "approved") { html += b("approve", "Approve and publish", true); }
      if (!a || a.status !== "rejected") { html += b("reject", "Reject"); }
    }
    if (a) { html += b("withdraw", a.publish_status === "published" ? "Withdraw from Shopify" : "Undo decision"); }
    html += status === "queued" || status === "running" ? b("cancel", "Stop generating") : b("regenerate", status === "not_queued" ? "Generate" : "Regenerate");
    return "<s-button-group>" + html + "</s-button-group>";
  }

  function groupHtml(p, g, index) {
    var m = g.model, title = p.groups.length > 1 ? "Model " + (index + 1) + " of " + p.groups.length : "3D model";
    var viewer = m ? '<model-viewer src="' + esc(m.glb_url) + '" alt="3D model of ' + esc(p.title) + '"' + (m.preview_url ? ' poster="' + esc(m.preview_url) + '"' : "") +
        ' camera-controls touch-action="pan-y" ar ar-modes="webxr scene-viewer quick-look" shadow-intensity="1" exposure="1" interaction-prompt="auto"></model-viewer>' +
        '<div class="viewer-row"><figure><canvas class="splat" data-splat="' + esc(m.splat_url || "") + '" aria-label="Gaussian splat of ' + esc(p.title) + '" role="img"></canvas><figcaption>Gaussian splat' + (m.splat_url ? " · drag to turn" : " · not available for this model") + "</figcaption></figure>" +
        (m.preview_url ? '<figure><s-image class="preview-img" src="' + esc(m.preview_url) + '" alt="Preview image of the 3D model of ' + esc(p.title) + '" aspectratio="4/3" objectfit="contain" inlinesize="fill"></s-image><figcaption>Preview image</figcaption></figure>' : "") + "</div>"
      : '<div class="empty"><s-heading>' + esc(n.groupState(g)[0]) + '</s-heading><s-paragraph color="subdued">The model appears here when it is ready.</s-paragraph></div>';
    return '<s-section heading="' + esc(title) + '" data-group="' + g.lead_image_id + '"><div class="model-card"><div>' + photosHtml(p, g) +
      '</div><div class="viewer">' + viewer + '</div><div><div data-role="status">' + statusHtml(g) + "</div>" + (m ? factsHtml(m) : "") + actionsHtml(p, g) +
      '<s-heading>History</s-heading><ul class="history" data-role="history"><li class="muted small">Loading…</li></ul></div></div></s-section>';
  }

  function adminUrl(p) { return n.initial.admin_products_url + "/" + String(p.gid).split("/").pop(); }
  function storefrontUrl(p) { return n.initial.storefront_url + "/products/" + encodeURIComponent(p.handle); }

  function render(p) {
    current.splats.forEach(function (s) { s.dispose(); });
    current.splats = [];
    current.signature = signature(p);
    n.setTitle(p.title || p.handle, []);
    app.innerHTML = '<s-page heading="' + esc(p.title || p.handle) + '"><s-link slot="breadcrumb-actions" href="/app" data-nav>‹ Products</s-link>' +
      '<s-button slot="secondary-actions" target="_top" href="' + esc(adminUrl(p)) + '" data-role="admin-link">View in Shopify admin</s-button>' +
      '<s-button slot="secondary-actions" target="_blank" href="' + esc(storefrontUrl(p)) + '" data-role="storefront-link">View in online store</s-button>' +
      (p.groups.length ? p.groups.map(function (g, i) { return groupHtml(p, g, i); }).join("") : '<s-section heading="This product has no photos"><s-paragraph color="subdued">Add a photo in Shopify; Nu3D makes a model from it.</s-paragraph></s-section>') + "</s-page>";
    p.groups.forEach(function (g) { if (g.model) { mountExtras(g); } loadHistory(g); });
  }

  function mountExtras(g) {
    var card = app.querySelector('[data-group="' + g.lead_image_id + '"]');
    var canvas = card.querySelector("canvas.splat");
    if (canvas && canvas.dataset.splat) {
      var start = function () { current.splats.push(window.nu3dSplat.mount(canvas, canvas.dataset.splat)); };
      if (window.nu3dSplat) { start(); } else { window.addEventListener("nu3d:splat-ready", start, { once: true }); }
    }
    var size = card.querySelector('[data-fact="file-size"]');
    fetch(g.model.glb_url, { method: "HEAD" }).then(function (r) {
      var bytes = Number(r.headers.get("content-length"));
      size.textContent = bytes ? (bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB") : "—";
    }).catch(function () { size.textContent = "—"; });
  }

  async function loadHistory(g) {
    var list = app.querySelector('[data-group="' + g.lead_image_id + '"] [data-role="history"]');
    var gens;
    try { gens = (await n.api("/app/api/images/" + g.lead_image_id + "/generations")).generations; }
    catch (err) { list.innerHTML = '<li class="muted small">' + (err.status === 404 ? "No earlier generations." : esc(err.message)) + "</li>"; return; }
    if (!gens.length) { list.innerHTML = '<li class="muted small">No generations yet.</li>'; return; }
    list.innerHTML = gens.map(function (h) {
      var tags = (h.current ? badge("Current", "info") + " " : "") + (h.approved ? badge("Chosen", "success") + " " : "");
      var pick = h.status === "succeeded" && !h.approved ? '<s-button data-action="approve" data-job="' + esc(h.job_id) + '" data-image="' + g.lead_image_id + '">Publish this one</s-button>' : "";
      var when = new Date(h.finished_at || h.created_at).toLocaleString();
      return '<li data-generation="' + esc(h.job_id) + '">' + (h.preview_url ? '<s-thumbnail size="small" src="' + esc(h.preview_url) + '" alt="Preview of the generation of ' + esc(when) + '"></s-thumbnail>' : "") +
        '<span class="when small">' + esc(when) + "<br>" + esc(HISTORY_STATUS[h.status] || h.status) + (h.faces ? " · " + Number(h.faces).toLocaleString() + " faces" : "") + "</span>" + tags + pick + "</li>";
    }).join("");
  }

  async function load(id, quiet) {
    try {
      var p = await n.api("/app/api/products/" + id);
      if (!current || current.id !== id || n.current !== "product") { return; }
      if (!quiet || signature(p) !== current.signature) { render(p); }
    } catch (err) {
      if (!quiet) { app.innerHTML = '<s-page heading="Product"><s-link slot="breadcrumb-actions" href="/app" data-nav>‹ Products</s-link><s-banner tone="critical" heading="This product could not be opened">' + esc(err.message) + "</s-banner></s-page>"; }
    }
  }

  var DONE = { approve: "Approved: the model is being published to the product.", reject: "Model rejected.", withdraw: "Decision withdrawn.",
    regenerate: "A new model is being made. The current one stays until you approve the new one.", cancel: "Generation stopped." };
  app.addEventListener("click", async function (e) {
    var el = e.target.closest("[data-action]");
    if (!el || el.disabled || n.current !== "product") { return; }
    var action = el.dataset.action, image = el.dataset.image;
    if (action === "withdraw" && !(await n.confirmAction("Withdraw this model?", "It is taken off the product in Shopify if it is there.", "Withdraw", true))) { return; }
    el.disabled = true;
    try {
      var url = "/app/api/images/" + encodeURIComponent(image) + "/" + (action === "withdraw" ? "approval" : action);
      var opts = { method: action === "withdraw" ? "DELETE" : "POST" };
      if (el.dataset.job) { opts.json = { job_id: el.dataset.job }; }
      await n.api(url, opts);
      n.toast(el.dataset.job ? "This generation will be published to the product." : DONE[action]);
      await load(current.id, false);
      n.pollNow();
    } catch (err) {
      n.toast(err.message, true);
      el.disabled = false;
    }
  });

  n.views.product = function (id) {
    if (current) { current.splats.forEach(function (s) { s.dispose(); }); }
    current = { id: id, signature: null, splats: [] };
    n.setTitle("Product", []);
    app.innerHTML = '<s-paragraph color="subdued">Loading the product…</s-paragraph>';
    load(id, false);
  };
  n.refreshProduct = function () { if (current) { load(current.id, true); } };
})();
