/* Nu3D admin: client-side routes (index, product page, settings), the live summary, the product index with
 * filters, search, sort, cursor paging and bulk actions, onboarding and backfill. Words: admin_words.js. */
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
    else if (path === "/app/settings") { n.current = "settings"; settingsView(); }
    else { n.current = "index"; indexView(); }
    window.scrollTo(0, 0);
  }
  window.addEventListener("popstate", route);
  document.addEventListener("shopify:navigate", function (e) { go(new URL(e.detail.href, window.location.href).pathname); });
  document.addEventListener("click", function (e) {
    var a = e.target.closest("a[data-nav]");
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
      return '<button type="button" class="card" data-summary="' + key + '" data-filter="' + filter + '"><span class="label">' + label +
        '</span><span class="value" data-role="count">' + value + '</span><span class="hint">' + esc(more) + "</span></button>";
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
      alert.innerHTML = failed ? "<div><strong>" + failed + (failed === 1 ? " model" : " models") + " failed.</strong> Open the product to read what went wrong, then regenerate.</div>" +
        '<button type="button" class="btn" data-filter="failed">Show failed</button>' : "";
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
    if (box) { box.innerHTML = backfillHtml(state.backfill); }
    var card = document.getElementById("onboarding");
    if (card && !onboardingHtml()) { card.remove(); }
  }
  function backfillHtml(b) {
    if (!b) { return ""; }
    var scope = b.collection_title || (b.collection_id ? "the chosen collection" : "all active products");
    if (b.status === "running") {
      return '<div class="banner" data-role="backfill"><div><strong>Looking through ' + esc(scope) + "…</strong> " + esc(b.products_seen || 0) +
        " products read, " + esc(b.images_queued || 0) + " photos queued.</div></div>";
    }
    if (b.status === "failed") {
      return '<div class="banner banner-critical" data-role="backfill"><div><strong>The search for products stopped.</strong> ' + esc(b.error || "") + " Try again from Settings.</div></div>";
    }
    return '<div class="banner banner-success" data-role="backfill"><div>Finished looking through ' + esc(scope) + ": " + esc(b.products_seen || 0) +
      " products, " + esc(b.images_queued || 0) + " photos queued for 3D models.</div></div>";
  }
  async function startBackfill(collection) {
    try {
      var body = await n.api("/app/api/backfill", { method: "POST", json: { collection_id: collection ? collection.id : null } });
      state.backfill = Object.assign({}, body.backfill, { collection_title: collection && collection.title });
      n.toast(collection ? "Making models for " + collection.title : "Making models for all active products");
      localStorage.setItem("nu3d:onboarded", "1");
      var box = document.getElementById("backfill-status");
      if (box) { box.innerHTML = backfillHtml(state.backfill); }
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
    return '<section class="card onboarding" id="onboarding" aria-labelledby="onboarding-h"><h2 id="onboarding-h">Get started with Nu3D</h2>' +
      "<p class=muted>Nu3D makes a 3D model from each product photo. You check every model before it goes on your product.</p><ol>" +
      "<li><strong>Choose which products get models.</strong> New products get one automatically; you can change that in " +
      '<a href="/app/settings" data-nav>Settings</a>.</li>' +
      "<li><strong>Make models for the products you already have.</strong><div class=btn-group style=margin-top:6px>" +
      '<button type="button" class="btn btn-primary" data-act="pick-collection">Choose a collection…</button>' +
      '<button type="button" class="btn" data-act="backfill-all">All active products</button></div></li>' +
      "<li><strong>Review and approve.</strong> Approved models are added to the product's media in Shopify.</li></ol>" +
      '<button type="button" class="btn btn-plain" data-act="dismiss-onboarding">Dismiss</button></section>';
  }
  function indexView() {
    n.setTitle("3D models", [{ label: "Make models for a collection", onClick: pickCollection }]);
    app.innerHTML = '<div class="page-header"><h1>3D models</h1></div><div id="backfill-status">' + backfillHtml(state.backfill) + "</div>" +
      '<div id="failure-banner" class="banner banner-critical" role="alert" hidden></div>' +
      '<div class="summary" id="summary" aria-label="Summary"></div>' + onboardingHtml() +
      '<section class="card index" aria-label="Products"><div class="tabs" role="tablist">' +
      TABS.map(function (t) { return '<button type="button" class="tab" role="tab" data-tab="' + t[0] + '" aria-selected="' + (state.filter === t[0]) + '">' + t[1] + "</button>"; }).join("") +
      '</div><div class="toolbar"><label class="sr-only" for="search">Search by title</label><input type="search" id="search" placeholder="Search by title" value="' + esc(state.q) + '">' +
      '<label class="sr-only" for="sort">Sort</label><select id="sort">' + SORTS.map(function (s) { return '<option value="' + s[0] + '"' + (state.sort === s[0] ? " selected" : "") + ">" + s[1] + "</option>"; }).join("") +
      '</select><label class="sr-only" for="per-page">Products per page</label><select id="per-page">' +
      PAGE_SIZES.map(function (v) { return '<option value="' + v + '"' + (v === PAGE_SIZE ? " selected" : "") + ">" + v + " per page</option>"; }).join("") +
      '</select></div><div id="bulkbar" class="bulkbar" hidden></div><div id="rows"><p class="muted" style="padding:12px">Loading products…</p></div><div class="pager" id="pager"></div></section>';
    renderSummary();
    var search = document.getElementById("search"), timer = null;
    search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(function () { state.q = search.value; resetPaging(); loadIndex(true); }, 250); });
    document.getElementById("sort").addEventListener("change", function (e) { state.sort = e.target.value; resetPaging(); loadIndex(true); });
    document.getElementById("per-page").addEventListener("change", function (e) { PAGE_SIZE = Number(e.target.value); resetPaging(); loadIndex(true); });
    loadIndex(true);
  }
  function resetPaging() { state.cursor = null; state.back = []; state.selected.clear(); }
  function setFilter(filter) {
    state.filter = filter; resetPaging();
    if (n.current !== "index") { go("/app"); return; }
    Array.prototype.forEach.call(document.querySelectorAll("[data-tab]"), function (t) { t.setAttribute("aria-selected", String(t.dataset.tab === filter)); });
    loadIndex(true);
  }
  n.setFilter = setFilter;

  async function loadIndex(showLoading) {
    var params = new URLSearchParams({ filter: state.filter, sort: state.sort, limit: String(PAGE_SIZE) });
    if (state.q) { params.set("q", state.q); }
    if (state.cursor) { params.set("cursor", state.cursor); }
    var rows = document.getElementById("rows");
    if (showLoading && rows) { rows.setAttribute("aria-busy", "true"); }
    try {
      var page = await n.api("/app/api/index?" + params.toString());
      if (n.current !== "index") { return; }
      state.page = page;
      renderRows();
    } catch (err) {
      if (rows) { rows.innerHTML = '<div class="empty"><h2>Products could not be loaded</h2><p class="error">' + esc(err.message) + "</p></div>"; }
    }
  }
  n.reloadIndex = function () { loadIndex(false); };

  function productState(p) {
    if (!p.groups.length) { return [["No photos", "", "none"]]; }
    return p.groups.map(n.groupState);
  }
  function rowHtml(p) {
    var thumb = p.images.length ? '<img class="thumb" loading="lazy" src="' + esc(p.images[0].url) + '" alt="' + esc(p.images[0].alt || p.title) + '">' : '<span class="thumb thumb-empty" aria-hidden="true">none</span>';
    var states = productState(p);
    var seen = {};
    var stateBadges = states.filter(function (s) { if (seen[s[0]]) { return false; } seen[s[0]] = 1; return true; })
      .map(function (s) { return badge(s[0], s[1], "state"); }).join(" ");
    var running = p.groups.map(function (g) { return g.generation; }).filter(function (g) { return g && g.status === "running"; })[0];
    if (running) { stateBadges += '<span class="muted small" data-role="stage"> ' + esc(n.stageText(running.stage, running.status)) + " · " + esc(running.progress) + "%</span>"; }
    var approvalWords = p.groups.map(n.approvalText);
    var approvals = approvalWords.map(function (a) { return badge(a[0], a[1], "approval"); });
    // the phone layout shows one column: the review badge only when it says more than the model's state
    var mobileApproval = approvalWords.length && !seen[approvalWords[0][0]] ? approvals[0] : "";
    var checked = state.selected.has(p.id);
    return '<tr data-product-id="' + p.id + '"' + (checked ? ' class="selected"' : "") + '><td class="check"><input type="checkbox" aria-label="Select ' + esc(p.title) + '"' + (checked ? " checked" : "") + "></td>" +
      '<td class="thumbcell">' + thumb + '</td><td class="title"><a href="/app/products/' + p.id + '" data-nav>' + esc(p.title || p.handle) + "</a>" +
      '<div class="muted small">' + esc(p.vendor || "") + (p.status !== "ACTIVE" ? " · " + esc(p.status.toLowerCase()) : "") + (p.groups.length > 1 ? " · " + p.groups.length + " models" : "") + "</div></td>" +
      '<td class="state">' + stateBadges + '<span class="mobile-approval">' + mobileApproval + "</span></td>" +
      '<td class="approval">' + (approvals.join(" ") || "—") + '</td><td class="created">' + esc(n.date(p.created_at)) + "</td></tr>";
  }
  // the live summary re-renders the rows and the bulk bar; a keyboard user keeps their place
  function focusedSelector() {
    var el = document.activeElement;
    if (!el || el === document.body || !app.contains(el)) { return null; }
    if (el.dataset.bulk) { return '[data-bulk="' + el.dataset.bulk + '"]'; }
    if (el.dataset.act) { return '[data-act="' + el.dataset.act + '"]'; }
    var row = el.closest("tr[data-product-id]");
    if (row) { return 'tr[data-product-id="' + row.dataset.productId + '"] ' + (el.type === "checkbox" ? "input[type=checkbox]" : ".title a"); }
    return el.id ? "#" + el.id : null;
  }
  function renderRows() {
    var focused = focusedSelector();
    renderRowsNow();
    var again = focused && app.querySelector(focused);
    if (again && again !== document.activeElement) { again.focus(); }
  }
  function renderRowsNow() {
    var page = state.page, rows = document.getElementById("rows"), pager = document.getElementById("pager");
    if (!rows) { return; }
    rows.removeAttribute("aria-busy");
    // which tab the rows show (tests wait on it); not data-filter, which marks the buttons that switch tabs
    rows.dataset.showing = page.filter;
    if (!page.products.length) {
      var none = state.summary && state.summary.products === 0 && state.filter === "all" && !state.q;
      rows.innerHTML = none
        ? '<div class="empty" id="empty"><h2>No products yet</h2><p class="muted">Products appear here as soon as Shopify tells Nu3D about them. Add a product with a photo in Shopify, or make models for the products you already have.</p><button type="button" class="btn btn-primary" data-act="pick-collection">Choose a collection…</button></div>'
        : '<div class="empty" id="empty"><h2>No products match</h2><p class="muted">Try another tab or search.</p></div>';
      pager.innerHTML = "";
      updateBulkbar();
      return;
    }
    rows.innerHTML = '<table class="rows"><thead><tr><th class="check"><input type="checkbox" id="select-all" aria-label="Select all on this page"></th><th class="thumbcell"><span class="sr-only">Photo</span></th><th>Product</th><th>3D model</th><th>Review</th><th>Created</th></tr></thead><tbody>' +
      page.products.map(rowHtml).join("") + "</tbody></table>";
    var from = state.back.length * PAGE_SIZE + 1;
    pager.innerHTML = '<span class="muted small" data-role="range">' + from + "–" + (from + page.products.length - 1) + " of " + page.total + "</span>" +
      '<span class="btn-group"><button type="button" class="btn" data-act="prev"' + (state.back.length ? "" : " disabled") + ' aria-label="Previous page">‹ Previous</button>' +
      '<button type="button" class="btn" data-act="next"' + (page.next_cursor ? "" : " disabled") + ' aria-label="Next page">Next ›</button></span>';
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
    if (bar.dataset.count !== String(count)) { bar.dataset.count = String(count); bar.innerHTML = count ? '<strong data-role="selected-count">' + count + " selected</strong>" +
      '<button type="button" class="btn btn-primary" data-bulk="approve">Approve</button><button type="button" class="btn" data-bulk="reject">Reject</button>' +
      '<button type="button" class="btn" data-bulk="regenerate">Regenerate</button><button type="button" class="btn btn-plain" data-act="clear-selection">Clear</button>' : ""; }
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

  app.addEventListener("change", function (e) {
    if (e.target.id === "select-all") {
      state.page.products.forEach(function (p) { if (e.target.checked) { state.selected.add(p.id); } else { state.selected.delete(p.id); } });
      renderRows();
      return;
    }
    var row = e.target.closest("tr[data-product-id]");
    if (row && e.target.type === "checkbox") {
      var id = Number(row.dataset.productId);
      if (e.target.checked) { state.selected.add(id); } else { state.selected.delete(id); }
      row.classList.toggle("selected", e.target.checked);
      updateBulkbar();
    }
  });
  app.addEventListener("click", function (e) {
    var el = e.target.closest("[data-filter],[data-tab],[data-act],[data-bulk]");
    if (!el || el.disabled) { return; }
    if (el.dataset.tab) { setFilter(el.dataset.tab); }
    else if (el.dataset.filter) { setFilter(el.dataset.filter); }
    else if (el.dataset.bulk) { bulk(el.dataset.bulk); }
    else if (el.dataset.act === "next") { state.back.push(state.cursor); state.cursor = state.page.next_cursor; loadIndex(true); }
    else if (el.dataset.act === "prev") { state.cursor = state.back.pop() || null; loadIndex(true); }
    else if (el.dataset.act === "clear-selection") { state.selected.clear(); renderRows(); }
    else if (el.dataset.act === "pick-collection") { pickCollection(); }
    else if (el.dataset.act === "backfill-all") { startBackfill(null); }
    else if (el.dataset.act === "dismiss-onboarding") { localStorage.setItem("nu3d:onboarded", "1"); var o = document.getElementById("onboarding"); if (o) { o.remove(); } }
  });

  // ------------------------------------------------------------------ settings
  var FACE_PRESETS = [["", "Engine default"], ["5000", "Light · 5,000 faces"], ["20000", "Standard · 20,000 faces"], ["50000", "Detailed · 50,000 faces"], ["100000", "High · 100,000 faces"]];
  async function settingsView() {
    n.setTitle("Settings", [{ label: "Save", primary: true, onClick: saveSettings }]);
    app.innerHTML = '<div class="page-header"><a href="/app" data-nav class="btn btn-plain">‹ Products</a><h1>Settings</h1></div><div id="settings-body"><p class="muted">Loading…</p></div>';
    var s;
    try { s = (await n.api("/app/api/settings")).settings; } catch (err) { document.getElementById("settings-body").innerHTML = '<p class="error">' + esc(err.message) + "</p>"; return; }
    var custom = s.face_limit && !FACE_PRESETS.some(function (p) { return p[0] === String(s.face_limit); });
    document.getElementById("settings-body").innerHTML = '<form class="card settings" id="settings-form" novalidate>' +
      '<fieldset><legend>Which products get 3D models</legend>' +
      '<label class="choice"><input type="radio" name="auto_generate" value="true"' + (s.auto_generate ? " checked" : "") + "><span><strong>New products, automatically</strong><br><span class=muted>Every new or changed product photo gets a model.</span></span></label>" +
      '<label class="choice"><input type="radio" name="auto_generate" value="false"' + (s.auto_generate ? "" : " checked") + "><span><strong>Only when I ask</strong><br><span class=muted>Use Generate on a product, or make models for a collection below.</span></span></label>" +
      '<div class="btn-group" style="margin-top:8px"><button type="button" class="btn" data-act="pick-collection">Make models for a collection…</button><button type="button" class="btn" data-act="backfill-all">Make models for all active products</button></div><div id="backfill-status">' + backfillHtml(state.backfill) + "</div></fieldset>" +
      '<fieldset><legend><label for="face_limit_preset">Model detail</label></legend><select id="face_limit_preset">' +
      FACE_PRESETS.map(function (p) { return '<option value="' + p[0] + '"' + (String(s.face_limit || "") === p[0] ? " selected" : "") + ">" + p[1] + "</option>"; }).join("") +
      '<option value="custom"' + (custom ? " selected" : "") + '>Custom…</option></select> <label class="sr-only" for="face_limit">Face limit</label><input type="number" id="face_limit" name="face_limit" inputmode="numeric" value="' + esc(custom ? s.face_limit : "") + '"' + (custom ? "" : " hidden") +
      ' placeholder="faces"><span class="muted small" style="display:block">More faces keep more detail but make bigger files (' + s.face_limit_range[0].toLocaleString() + "–" + s.face_limit_range[1].toLocaleString() + ' faces).</span><span class="field-error" data-error="face_limit"></span></fieldset>' +
      '<fieldset><legend>Publishing</legend><label class="choice"><input type="checkbox" name="auto_publish"' + (s.auto_publish ? " checked" : "") + "><span><strong>Publish without review</strong><br><span class=muted>Finished models go straight onto the product. Leave off to approve each one.</span></span></label></fieldset>" +
      '<fieldset><legend>Notifications</legend><label class="choice"><input type="checkbox" name="notify_failures"' + (s.notify_failures ? " checked" : "") + "><span><strong>Tell me when a model fails</strong><br><span class=muted>A banner at the top of Nu3D lists failed models until you deal with them.</span></span></label></fieldset>" +
      '<div id="settings-error" class="banner banner-critical" role="alert" hidden></div><button type="submit" class="btn btn-primary">Save</button></form>';
    var preset = document.getElementById("face_limit_preset"), number = document.getElementById("face_limit");
    preset.addEventListener("change", function () { number.hidden = preset.value !== "custom"; if (!number.hidden) { number.focus(); } });
    document.getElementById("settings-form").addEventListener("submit", function (e) { e.preventDefault(); saveSettings(); });
  }
  async function saveSettings() {
    var form = document.getElementById("settings-form");
    if (!form) { return; }
    var preset = document.getElementById("face_limit_preset").value;
    var raw = document.getElementById("face_limit").value.trim();
    var face = preset === "custom" ? (raw === "" ? null : (/^\d+$/.test(raw) ? Number(raw) : raw)) : (preset ? Number(preset) : null);
    var body = { auto_generate: form.querySelector('[name=auto_generate]:checked').value === "true", face_limit: face,
      auto_publish: form.auto_publish.checked, notify_failures: form.notify_failures.checked };
    Array.prototype.forEach.call(form.querySelectorAll("[data-error]"), function (el) { el.textContent = ""; });
    var banner = document.getElementById("settings-error");
    banner.hidden = true;
    try {
      await n.api("/app/api/settings", { method: "PUT", json: body });
      n.toast("Settings saved");
      poll();
    } catch (err) {
      banner.hidden = false;
      banner.textContent = "Not saved: " + err.message;
      var field = form.querySelector('[data-error="face_limit"]');
      if (field && /face_limit/.test(err.message)) { field.textContent = err.message.replace(/^face_limit /, "Face limit "); }
    }
  }

  // after every deferred script ran: the product view lives in admin_product.js, loaded after this file
  document.addEventListener("DOMContentLoaded", function () {
    route();
    loadBackfill();
    poll();
  });
})();
