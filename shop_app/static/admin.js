/* Nu3D admin: client-side routes (index, product page, settings), the live summary, the product index with
 * filters, search, sort, cursor paging and bulk actions, onboarding and backfill, in Polaris web components.
 * Words: admin_words.js; product page: admin_product.js; settings: admin_settings.js. */
(function () {
  "use strict";
  var n = window.nu3d, esc = n.esc, badge = n.badge;
  var app = document.getElementById("app");
  var state = { filter: "all", q: "", sort: "newest", cursor: null, back: [], selected: new Set(), page: null, summary: null, backfill: undefined };
  var TABS = [["all", "All"], ["needs_review", "Needs review"], ["generating", "Generating"], ["approved", "Approved"],
    ["published", "Published"], ["failed", "Failed"], ["rejected", "Rejected"]];
  var SORTS = [["newest", "Newest first"], ["oldest", "Oldest first"], ["title", "Title A–Z"], ["title_desc", "Title Z–A"]];
  var PAGE_SIZES = [25, 50, 100, 250];
  var PAGE_SIZE = n.initial.page_size || 50;

  // ------------------------------------------------------------------ routing (same document, no reload)
  function go(path) {
    history.pushState(null, "", path + window.location.search);
    route();
  }
  n.go = go;
  function route() {
    var path = window.location.pathname.replace(/\/+$/, "");
    var product = path.match(/^\/app\/products\/(\d+)$/);
    n.current = null;
    if (product) { n.current = "product"; n.views.product(Number(product[1])); }
    else if (path === "/app/settings") { n.current = "settings"; n.views.settings(); }
    else { n.current = "index"; indexView(); }
    window.scrollTo(0, 0);
  }
  window.addEventListener("popstate", route);
  document.addEventListener("shopify:navigate", function (e) { go(new URL(e.detail.href, window.location.href).pathname); });
  document.addEventListener("click", function (e) {
    var a = e.target.closest("[data-nav]"); // an s-link (its anchor is in its shadow root) or an <a>
    if (!a || e.metaKey || e.ctrlKey || e.shiftKey) { return; }
    e.preventDefault();
    go(a.getAttribute("href"));
  });

  // ------------------------------------------------------------------ summary, polled with backoff
  var pollTimer = null, failures = 0;
  function summaryHtml(s) {
    var q = s.queue || {};
    var hint = "nothing waiting";
    var left = "";
    if (s.generating) {
      if (q.eta_s != null) { left = "about " + n.seconds(q.eta_s) + " left"; }
      else if (q.live_workers === 0) { left = "waiting for a generator to start"; }
      else { left = "time left: measuring…"; }
      if (q.next_position) { left += " · " + q.next_position + " ahead in the queue"; }
    }
    function card(key, filter, value, label, more) {
      return '<s-clickable class="summary-card" background="base" padding="base" borderradius="base" data-summary="' + key + '" data-filter="' + filter + '">' +
        '<s-text type="strong">' + label + '</s-text><span class="value" data-role="count">' + value + '</span><span class="hint">' + esc(more) + "</span></s-clickable>";
    }
    return card("ready", "needs_review", s.ready_for_review, "Ready for review", s.ready_for_review ? "check and approve them" : "all reviewed") +
      card("generating", "generating", s.generating, "Generating", left || hint) +
      card("published", "published", s.published, "Published", s.publishing ? s.publishing + " on the way to Shopify" : "live on your products") +
      card("failed", "failed", s.failed + s.publish_failed, "Failed", s.failed + s.publish_failed ? "open them to see why" : "none");
  }
  function renderSummary() {
    var box = document.getElementById("summary");
    var s = state.summary;
    if (!box || !s) { return; }
    box.innerHTML = summaryHtml(s);
    var gen = box.querySelector('[data-summary="generating"] .hint');
    if (gen) { gen.dataset.role = "eta"; }
    var alert = document.getElementById("failure-banner");
    if (alert) {
      var failed = s.failed + s.publish_failed;
      alert.hidden = !(s.notify_failures && failed);
      alert.setAttribute("heading", failed + (failed === 1 ? " model" : " models") + " failed");
      alert.innerHTML = failed ? "Open the product to read what went wrong, then regenerate." +
        '<s-button slot="secondary-actions" data-filter="failed">Show failed</s-button>' : "";
    }
  }
  async function poll() {
    clearTimeout(pollTimer);
    var delay;
    try {
      if (!document.hidden) {
        var before = JSON.stringify(state.summary);
        state.summary = await n.api("/app/api/summary");
        failures = 0;
        if (JSON.stringify(state.summary) !== before) {
          renderSummary();
          if (n.current === "index" && before !== undefined) { loadIndex(false); }
          if (n.current === "product" && n.refreshProduct) { n.refreshProduct(); }
        }
        if (state.backfill && state.backfill.status === "running") { await loadBackfill(); }
      }
      var busy = state.summary && (state.summary.generating || state.summary.publishing);
      delay = busy ? 2000 : 8000;
    } catch (err) {
      failures += 1;
      delay = Math.min(60000, 2000 * Math.pow(2, failures));
      if (failures === 3) { n.toast("Nu3D cannot reach its server: " + err.message, true); }
    }
    pollTimer = setTimeout(poll, delay);
  }
  n.pollNow = function () { poll(); };
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { poll(); } });

  // ------------------------------------------------------------------ backfill (the other engineer's API)
  async function loadBackfill() {
    var before = state.backfill;
    try { state.backfill = (await n.api("/app/api/backfill")).backfill; } catch (err) { state.backfill = null; }
    if (state.backfill && before && before.id === state.backfill.id && before.collection_title) {
      state.backfill.collection_title = before.collection_title; // the API names the collection by id only
    }
    var box = document.getElementById("backfill-status");
    if (box) { box.innerHTML = n.backfillHtml(state.backfill); }
    var card = document.getElementById("onboarding");
    if (card && !onboardingHtml()) { card.remove(); }
  }
  function backfillHtml(b) {
    if (!b) { return ""; }
    var scope = b.collection_title || (b.collection_id ? "the chosen collection" : "all active products");
    if (b.status === "running") {
      return '<s-banner tone="info" data-role="backfill" heading="Looking through ' + esc(scope) + '…">' + esc(b.products_seen || 0) +
        " products read, " + esc(b.images_queued || 0) + " photos queued.</s-banner>";
    }
    if (b.status === "failed") {
      return '<s-banner tone="critical" data-role="backfill" heading="The search for products stopped.">' + esc(b.error || "") + " Try again from Settings.</s-banner>";
    }
    return '<s-banner tone="success" data-role="backfill">Finished looking through ' + esc(scope) + ": " + esc(b.products_seen || 0) +
      " products, " + esc(b.images_queued || 0) + " photos queued for 3D models.</s-banner>";
  }
  n.backfillHtml = function (b) { return backfillHtml(b === undefined ? state.backfill : b); };
  async function startBackfill(collection) {
    try {
      var body = await n.api("/app/api/backfill", { method: "POST", json: { collection_id: collection ? collection.id : null } });
      state.backfill = Object.assign({}, body.backfill, { collection_title: collection && collection.title });
      n.toast(collection ? "Making models for " + collection.title : "Making models for all active products");
      localStorage.setItem("nu3d:onboarded", "1");
      var box = document.getElementById("backfill-status");
      if (box) { box.innerHTML = n.backfillHtml(state.backfill); }
      poll();
    } catch (err) { n.toast("Could not start: " + err.message, true); }
  }
  async function pickCollection() {
    if (!(window.shopify && shopify.resourcePicker)) { n.toast("The collection picker needs the Shopify admin; open Nu3D there.", true); return; }
    var picked = await shopify.resourcePicker({ type: "collection", multiple: false, action: "select" });
    if (picked && picked.length) { await startBackfill(picked[0]); }
  }
  n.pickCollection = pickCollection;
  n.startBackfill = startBackfill;

  // ------------------------------------------------------------------ index
  function onboardingHtml() {
    var s = state.summary;
    var newShop = s && s.products === 0;
    // a shop that already made models for its catalogue (or dismissed the card) is past onboarding
    if ((state.backfill || localStorage.getItem("nu3d:onboarded")) && !newShop) { return ""; }
    return '<s-section id="onboarding" heading="Get started with Nu3D"><s-paragraph color="subdued">Nu3D makes a 3D model from each product photo. ' +
      "You check every model before it goes on your product.</s-paragraph><s-ordered-list>" +
      '<s-list-item><s-text type="strong">Choose which products get models.</s-text> New products get one automatically; you can change that in ' +
      '<s-link href="/app/settings" data-nav>Settings</s-link>.</s-list-item>' +
      '<s-list-item><s-text type="strong">Make models for the products you already have.</s-text><s-button-group>' +
      '<s-button variant="primary" data-act="pick-collection">Choose a collection…</s-button>' +
      '<s-button data-act="backfill-all">All active products</s-button></s-button-group></s-list-item>' +
      "<s-list-item><s-text type=\"strong\">Review and approve.</s-text> Approved models are added to the product's media in Shopify.</s-list-item></s-ordered-list>" +
      '<s-button variant="tertiary" data-act="dismiss-onboarding">Dismiss</s-button></s-section>';
  }
  function indexView() {
    n.setTitle("3D models", [{ label: "Make models for a collection", onClick: pickCollection }]);
    app.innerHTML = '<s-page heading="3D models"><div id="backfill-status">' + n.backfillHtml(state.backfill) + "</div>" +
      '<s-banner id="failure-banner" tone="critical" hidden></s-banner>' +
      '<div class="summary" id="summary" role="group" aria-label="Summary"></div>' + onboardingHtml() +
      '<s-section padding="none" accessibilitylabel="Products"><s-table id="table"><div slot="filters" class="filters">' +
      '<s-button-group id="tabs" accessibilitylabel="Show products by model state">' +
      TABS.map(function (t) { return '<s-press-button data-tab="' + t[0] + '"' + (state.filter === t[0] ? " pressed" : "") + ">" + t[1] + "</s-press-button>"; }).join("") +
      '</s-button-group><div class="toolbar"><s-search-field id="search" label="Search by title" labelaccessibilityvisibility="exclusive" placeholder="Search by title" value="' + esc(state.q) + '"></s-search-field>' +
      '<s-select id="sort" label="Sort" labelaccessibilityvisibility="exclusive">' + SORTS.map(function (s) { return '<s-option value="' + s[0] + '"' + (state.sort === s[0] ? " selected" : "") + ">" + s[1] + "</s-option>"; }).join("") +
      '</s-select><s-select id="per-page" label="Products per page" labelaccessibilityvisibility="exclusive">' +
      PAGE_SIZES.map(function (v) { return '<s-option value="' + v + '"' + (v === PAGE_SIZE ? " selected" : "") + ">" + v + " per page</s-option>"; }).join("") +
      '</s-select></div><div id="bulkbar" class="bulkbar" hidden></div></div>' +
      '<s-table-header-row id="table-head"><s-table-header listslot="inline"><s-checkbox id="select-all" accessibilitylabel="Select all on this page"></s-checkbox></s-table-header>' +
      '<s-table-header listslot="inline">Photo</s-table-header><s-table-header listslot="primary">Product</s-table-header><s-table-header listslot="secondary">3D model</s-table-header>' +
      '<s-table-header listslot="secondary">Review</s-table-header><s-table-header listslot="labeled">Created</s-table-header></s-table-header-row>' +
      '<s-table-body id="rows"></s-table-body></s-table><div id="empty-slot"><s-paragraph color="subdued" id="loading">Loading products…</s-paragraph></div>' +
      '<div class="range"><s-text color="subdued" data-role="range"></s-text></div></s-section></s-page>';
    renderSummary();
    var search = document.getElementById("search"), timer = null;
    search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(function () { state.q = search.value; resetPaging(); loadIndex(true); }, 250); });
    document.getElementById("sort").addEventListener("change", function (e) { state.sort = e.currentTarget.value; resetPaging(); loadIndex(true); });
    document.getElementById("per-page").addEventListener("change", function (e) { PAGE_SIZE = Number(e.currentTarget.value); resetPaging(); loadIndex(true); });
    var table = document.getElementById("table");
    table.addEventListener("nextpage", function () { state.back.push(state.cursor); state.cursor = state.page.next_cursor; loadIndex(true); });
    table.addEventListener("previouspage", function () { state.cursor = state.back.pop() || null; loadIndex(true); });
    loadIndex(true);
  }
  function resetPaging() { state.cursor = null; state.back = []; state.selected.clear(); }
  function setFilter(filter) {
    state.filter = filter; resetPaging();
    if (n.current !== "index") { go("/app"); return; }
    Array.prototype.forEach.call(document.querySelectorAll("[data-tab]"), function (t) { t.toggleAttribute("pressed", t.dataset.tab === filter); });
    loadIndex(true);
  }
  n.setFilter = setFilter;

  async function loadIndex(showLoading) {
    var params = new URLSearchParams({ filter: state.filter, sort: state.sort, limit: String(PAGE_SIZE) });
    if (state.q) { params.set("q", state.q); }
    if (state.cursor) { params.set("cursor", state.cursor); }
    var table = document.getElementById("table");
    if (showLoading && table) { table.setAttribute("loading", ""); }
    try {
      var page = await n.api("/app/api/index?" + params.toString());
      if (n.current !== "index") { return; }
      state.page = page;
      renderRows();
    } catch (err) {
      var slot = document.getElementById("empty-slot");
      if (table) { table.removeAttribute("loading"); }
      if (slot) { slot.innerHTML = '<s-banner tone="critical" heading="Products could not be loaded">' + esc(err.message) + "</s-banner>"; }
    }
  }
  n.reloadIndex = function () { loadIndex(false); };

  function productState(p) {
    if (!p.groups.length) { return [["No photos", "", "none"]]; }
    return p.groups.map(n.groupState);
  }
  function rowHtml(p) {
    var photo = p.images[0];
    var thumb = '<s-thumbnail size="small"' + (photo ? ' src="' + esc(photo.url) + '"' : "") + ' alt="' + esc(photo ? photo.alt || p.title : "No photo") + '"></s-thumbnail>';
    var seen = {};
    var stateBadges = productState(p).filter(function (s) { if (seen[s[0]]) { return false; } seen[s[0]] = 1; return true; })
      .map(function (s) { return badge(s[0], s[1], "state"); }).join(" ");
    var running = p.groups.map(function (g) { return g.generation; }).filter(function (g) { return g && g.status === "running"; })[0];
    if (running) { stateBadges += ' <s-text color="subdued" data-role="stage">' + esc(n.stageText(running.stage, running.status)) + " · " + esc(running.progress) + "%</s-text>"; }
    // the review column says only what the model column does not ("Rejected" once, not twice)
    var approvals = p.groups.map(n.approvalText).filter(function (a) { return !seen[a[0]] && a[0] !== "—"; })
      .map(function (a) { return badge(a[0], a[1], "approval"); });
    var checked = state.selected.has(p.id);
    var more = [p.vendor || "", p.status !== "ACTIVE" ? p.status.toLowerCase() : "", p.groups.length > 1 ? p.groups.length + " models" : ""].filter(Boolean).join(" · ");
    return '<s-table-row data-product-id="' + p.id + '"' + (checked ? ' class="selected"' : "") + '><s-table-cell><s-checkbox accessibilitylabel="Select ' + esc(p.title) + '"' + (checked ? " checked" : "") + "></s-checkbox></s-table-cell>" +
      "<s-table-cell>" + thumb + '</s-table-cell><s-table-cell><s-stack gap="none"><s-link href="/app/products/' + p.id + '" data-nav data-role="title">' + esc(p.title || p.handle) + "</s-link>" +
      (more ? '<s-text color="subdued">' + esc(more) + "</s-text>" : "") + "</s-stack></s-table-cell>" +
      "<s-table-cell>" + stateBadges + "</s-table-cell><s-table-cell>" + approvals.join(" ") + "</s-table-cell><s-table-cell>" + esc(n.date(p.created_at)) + "</s-table-cell></s-table-row>";
  }
  // the live summary re-renders the rows and the bulk bar; a keyboard user keeps their place
  function focusedSelector() {
    var el = document.activeElement;
    if (!el || el === document.body || !app.contains(el)) { return null; }
    if (el.dataset.bulk) { return '[data-bulk="' + el.dataset.bulk + '"]'; }
    if (el.dataset.act) { return '[data-act="' + el.dataset.act + '"]'; }
    var row = el.closest("s-table-row[data-product-id]");
    if (row) { return 's-table-row[data-product-id="' + row.dataset.productId + '"] ' + (el.localName === "s-checkbox" ? "s-checkbox" : "s-link"); }
    return el.id ? "#" + el.id : null;
  }
  function renderRows() {
    var focused = focusedSelector();
    renderRowsNow();
    var again = focused && app.querySelector(focused);
    if (again && again !== document.activeElement) { again.focus(); }
  }
  function renderRowsNow() {
    var page = state.page, rows = document.getElementById("rows"), table = document.getElementById("table");
    if (!rows) { return; }
    table.removeAttribute("loading");
    // which tab the rows show (tests wait on it); not data-filter, which marks the buttons that switch tabs
    rows.dataset.showing = page.filter;
    var from = state.back.length * PAGE_SIZE + 1;
    table.toggleAttribute("haspreviouspage", state.back.length > 0);
    table.toggleAttribute("hasnextpage", !!page.next_cursor);
    table.toggleAttribute("paginate", state.back.length > 0 || !!page.next_cursor);
    document.getElementById("table-head").hidden = !page.products.length;
    document.querySelector("[data-role=range]").textContent = page.products.length ? from + "–" + (from + page.products.length - 1) + " of " + page.total : "";
    var none = state.summary && state.summary.products === 0 && state.filter === "all" && !state.q;
    document.getElementById("empty-slot").innerHTML = page.products.length ? "" : none
      ? '<div class="empty" id="empty"><s-heading>No products yet</s-heading><s-paragraph color="subdued">Products appear here as soon as Shopify tells Nu3D about them. Add a product with a photo in Shopify, or make models for the products you already have.</s-paragraph><s-button variant="primary" data-act="pick-collection">Choose a collection…</s-button></div>'
      : '<div class="empty" id="empty"><s-heading>No products match</s-heading><s-paragraph color="subdued">Try another tab or search.</s-paragraph></div>';
    rows.innerHTML = page.products.map(rowHtml).join("");
    updateBulkbar();
    rows.dataset.rendered = String(page.products.length); // bench/admin_bench.py times the render by this
  }
  function selectedProducts() {
    return (state.page ? state.page.products : []).filter(function (p) { return state.selected.has(p.id); });
  }
  function updateBulkbar() {
    var bar = document.getElementById("bulkbar");
    if (!bar) { return; }
    var count = selectedProducts().length;
    bar.hidden = !count;
    // the same buttons are kept as they are (and the keyboard focus on them)
    if (bar.dataset.count !== String(count)) { bar.dataset.count = String(count); bar.innerHTML = count ? '<s-text type="strong" data-role="selected-count">' + count + " selected</s-text>" +
      '<s-button variant="primary" data-bulk="approve">Approve</s-button><s-button data-bulk="reject">Reject</s-button>' +
      '<s-button data-bulk="regenerate">Regenerate</s-button><s-button variant="tertiary" data-act="clear-selection">Clear</s-button>' : ""; }
    var all = document.getElementById("select-all");
    if (all) { all.checked = count > 0 && count === state.page.products.length; }
  }

  var BULK = {
    approve: { wants: function (g) { return g.generation && g.generation.status === "succeeded" && !(g.approval && g.approval.status === "approved"); },
      title: "Approve models", ok: "Approve", done: "approved", text: " will be published to their products in Shopify." },
    reject: { wants: function (g) { return g.generation && g.generation.status === "succeeded" && !(g.approval && g.approval.status === "rejected"); },
      title: "Reject models", ok: "Reject", done: "rejected", text: " will be rejected; published ones are taken off the product.", destructive: true },
    regenerate: { wants: function (g) { return !g.generation || (g.generation.status !== "queued" && g.generation.status !== "running"); },
      title: "Regenerate models", ok: "Regenerate", done: "queued again", text: " will be made again; the current models stay until you approve new ones." },
  };
  async function bulk(action) {
    var spec = BULK[action];
    var leads = [];
    selectedProducts().forEach(function (p) { p.groups.forEach(function (g) { if (spec.wants(g)) { leads.push(g.lead_image_id); } }); });
    if (!leads.length) { n.toast("None of the selected products has a model to " + action + ".", true); return; }
    var what = leads.length + (leads.length === 1 ? " model" : " models");
    if (!(await n.confirmAction(spec.title, what + spec.text, spec.ok + " " + what, spec.destructive))) { return; }
    var failed = [];
    for (var i = 0; i < leads.length; i++) {
      try { await n.api("/app/api/images/" + leads[i] + "/" + action, { method: "POST" }); } catch (err) { failed.push(err.message); }
    }
    state.selected.clear();
    if (failed.length) { n.toast((leads.length - failed.length) + " " + spec.done + "; " + failed.length + " failed: " + failed[0], true); }
    else { n.toast(what + " " + spec.done); }
    await loadIndex(false);
    poll();
  }

  // Polaris fires `change` on the component itself (s-checkbox), so the handlers read the element's properties
  app.addEventListener("change", function (e) {
    var box = e.target.closest("s-checkbox");
    if (!box) { return; }
    if (box.id === "select-all") {
      state.page.products.forEach(function (p) { if (box.checked) { state.selected.add(p.id); } else { state.selected.delete(p.id); } });
      renderRows();
      return;
    }
    var row = box.closest("s-table-row[data-product-id]");
    if (row) {
      var id = Number(row.dataset.productId);
      if (box.checked) { state.selected.add(id); } else { state.selected.delete(id); }
      row.classList.toggle("selected", box.checked);
      updateBulkbar();
    }
  });
  app.addEventListener("click", function (e) {
    var el = e.target.closest("[data-filter],[data-tab],[data-act],[data-bulk]");
    if (!el || el.disabled) { return; }
    if (el.dataset.tab) { setFilter(el.dataset.tab); }
    else if (el.dataset.filter) { setFilter(el.dataset.filter); }
    else if (el.dataset.bulk) { bulk(el.dataset.bulk); }
    else if (el.dataset.act === "clear-selection") { state.selected.clear(); renderRows(); }
    else if (el.dataset.act === "pick-collection") { pickCollection(); }
    else if (el.dataset.act === "backfill-all") { startBackfill(null); }
    else if (el.dataset.act === "dismiss-onboarding") { localStorage.setItem("nu3d:onboarded", "1"); var o = document.getElementById("onboarding"); if (o) { o.remove(); } }
  });

  // after every deferred script ran: the product and settings views live in their own files, loaded after this
  document.addEventListener("DOMContentLoaded", function () {
    route();
    loadBackfill();
    poll();
  });
})();
