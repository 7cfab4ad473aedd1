/* Nu3D admin: the words a merchant reads for every state and stage, and the small helpers every view uses
 * (HTML escaping, Polaris badges, the session-token API, toasts, the confirmation modal). Exposed as
 * window.nu3d. The views are Polaris web components (s-page, s-section, s-table, …) from Shopify's CDN. */
(function () {
  "use strict";

  var STAGE = {
    fetching_inputs: "Downloading the photos",
    generating: "Making the model",
    load: "Reading the photos",
    segment: "Finding the product in the photos",
    cameras: "Working out the camera angles",
    carve: "Shaping the object",
    mesh: "Building the surface",
    texture: "Painting the surface from the photos",
    export: "Saving the 3D files",
    storing: "Saving the 3D files",
    done: "Finished",
  };
  var GENERATION = {
    not_queued: ["No model yet", ""],
    queued: ["Waiting to start", "info"],
    running: ["Generating", "info"],
    succeeded: ["Ready for review", "caution"],
    failed: ["Failed", "critical"],
    canceled: ["Stopped", ""],
  };
  var PUBLISH = {
    pending: ["Approved · sending to Shopify", "success"],
    processing: ["Approved · Shopify is processing", "success"],
    published: ["Published", "success"],
    failed: ["Publishing failed", "critical"],
    unpublish_pending: ["Removing from Shopify", "warning"],
  };

  function esc(value) {
    return String(value == null ? "" : value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // tone: one of Polaris's badge tones (info, success, caution, warning, critical) or "" for neutral
  function badge(text, tone, role) {
    return "<s-badge" + (tone ? ' tone="' + tone + '"' : "") + (role ? ' data-role="' + role + '"' : "") + ">" + esc(text) + "</s-badge>";
  }

  function stageText(stage, status) {
    if (status === "queued") { return "Waiting for a free generator"; }
    return STAGE[stage] || (stage ? "Working (" + String(stage).replace(/_/g, " ") + ")" : "Starting");
  }

  // One group's model state, as a merchant reads it: [text, tone, key].
  function groupState(group) {
    var gen = group.generation;
    var status = gen ? gen.status : "not_queued";
    var a = group.approval;
    if (status === "queued" || status === "running") { return [GENERATION[status][0], "info", "generating"]; }
    if (a && a.publish_status && PUBLISH[a.publish_status]) {
      var p = PUBLISH[a.publish_status];
      return [p[0], p[1], a.publish_status === "published" ? "published" : "approved"];
    }
    if (a && a.status === "rejected") { return ["Rejected", "", "rejected"]; }
    if (a && a.status === "approved") { return ["Approved", "success", "approved"]; }
    var g = GENERATION[status] || [status, ""];
    return [g[0], g[1], status === "succeeded" ? "needs_review" : status];
  }

  function approvalText(group) {
    var a = group.approval;
    if (!a) { return group.generation && group.generation.status === "succeeded" ? ["Not reviewed", "caution"] : ["—", ""]; }
    if (a.status === "approved") { return ["Approved", "success"]; }
    if (a.status === "rejected") { return ["Rejected", ""]; }
    return ["Withdrawn", ""];
  }

  function seconds(s) {
    if (s == null) { return null; }
    if (s < 60) { return Math.max(1, Math.round(s)) + " s"; }
    if (s < 3600) { return Math.round(s / 60) + " min"; }
    return (s / 3600).toFixed(1) + " h";
  }

  function date(iso) {
    if (!iso) { return "—"; }
    var d = new Date(iso);
    return d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
  }

  function toast(message, isError) {
    if (window.shopify && shopify.toast) { shopify.toast.show(message, { isError: !!isError }); return; }
    var box = document.getElementById("fallback-toast") || document.createElement("s-banner");
    box.id = "fallback-toast"; box.setAttribute("tone", isError ? "critical" : "success");
    box.textContent = message; document.getElementById("app").prepend(box);
    setTimeout(function () { box.remove(); }, 5000);
  }

  async function errorMessage(response) {
    var body = await response.json().catch(function () { return {}; });
    return (body.detail && body.detail.message) || body.message || "the request failed (" + response.status + "); try again";
  }

  // App Bridge adds "Authorization: Bearer <session token>" to fetch() calls to our origin.
  async function api(path, options) {
    var opts = Object.assign({ headers: {} }, options || {});
    opts.headers = Object.assign({ Accept: "application/json" }, opts.headers);
    if (opts.json !== undefined) { opts.body = JSON.stringify(opts.json); opts.headers["Content-Type"] = "application/json"; delete opts.json; }
    var response = await fetch(path, opts);
    if (!response.ok) { var err = new Error(await errorMessage(response)); err.status = response.status; throw err; }
    return response.status === 204 ? null : response.json();
  }

  // Confirmation through App Bridge's modal; resolves true when the merchant confirms.
  function confirmAction(title, text, okLabel, destructive) {
    return new Promise(function (resolve) {
      var modal = document.getElementById("confirm-modal");
      var ok = document.getElementById("confirm-ok");
      var cancel = document.getElementById("confirm-cancel");
      document.getElementById("confirm-text").textContent = text;
      document.getElementById("confirm-title").setAttribute("title", title);
      ok.textContent = okLabel;
      if (destructive) { ok.setAttribute("tone", "critical"); } else { ok.removeAttribute("tone"); }
      function done(value) {
        ok.removeEventListener("click", yes); cancel.removeEventListener("click", no); modal.removeEventListener("hide", no);
        if (window.shopify && shopify.modal) { shopify.modal.hide("confirm-modal"); }
        resolve(value);
      }
      function yes() { done(true); }
      function no() { done(false); }
      ok.addEventListener("click", yes); cancel.addEventListener("click", no); modal.addEventListener("hide", no);
      if (window.shopify && shopify.modal) { shopify.modal.show("confirm-modal"); } else { done(window.confirm(title + "\n\n" + text)); }
    });
  }

  function setTitle(title, buttons) {
    var bar = document.getElementById("title-bar");
    bar.setAttribute("title", title);
    bar.innerHTML = (buttons || []).map(function (b, i) {
      return "<button" + (b.primary ? ' variant="primary"' : "") + ' data-title-action="' + i + '">' + esc(b.label) + "</button>";
    }).join("");
    Array.prototype.forEach.call(bar.querySelectorAll("button"), function (el) {
      el.addEventListener("click", function () { buttons[Number(el.dataset.titleAction)].onClick(); });
    });
    document.title = "Nu3D · " + title;
  }

  window.nu3d = {
    esc: esc, badge: badge, stageText: stageText, groupState: groupState, approvalText: approvalText,
    seconds: seconds, date: date, toast: toast, api: api, confirmAction: confirmAction, setTitle: setTitle,
    initial: JSON.parse(document.getElementById("initial-data").textContent),
    views: {},
  };
})();
