/* Nu3D admin: settings — which products get models (and a backfill of a collection or of every active
 * product), model detail (face limit), publishing without review, failure notices. Stored per shop by
 * PUT /app/api/settings, which validates them; its error names the field, shown on that field. */
(function () {
  "use strict";
  var n = window.nu3d, esc = n.esc;
  var app = document.getElementById("app");
  var FACE_PRESETS = [["", "Engine default"], ["5000", "Light · 5,000 faces"], ["20000", "Standard · 20,000 faces"], ["50000", "Detailed · 50,000 faces"], ["100000", "High · 100,000 faces"]];

  function choice(value, checked, title, details) {
    return '<s-choice value="' + value + '"' + (checked ? " selected" : "") + ">" + title + '<s-text slot="details">' + details + "</s-text></s-choice>";
  }
  function checkbox(name, checked, label, details) {
    return '<s-checkbox name="' + name + '" label="' + esc(label) + '" details="' + esc(details) + '"' + (checked ? " checked" : "") + "></s-checkbox>";
  }

  function formHtml(s) {
    var custom = s.face_limit && !FACE_PRESETS.some(function (p) { return p[0] === String(s.face_limit); });
    var range = s.face_limit_range[0].toLocaleString() + "–" + s.face_limit_range[1].toLocaleString();
    return '<form id="settings-form" novalidate>' +
      '<s-section heading="Which products get 3D models"><s-choice-list id="auto_generate" name="auto_generate" label="Which products get 3D models" labelaccessibilityvisibility="exclusive">' +
      choice("true", s.auto_generate, "New products, automatically", "Every new or changed product photo gets a model.") +
      choice("false", !s.auto_generate, "Only when I ask", "Use Generate on a product, or make models for a collection below.") +
      '</s-choice-list><div class="spaced"><s-button-group><s-button data-act="pick-collection">Make models for a collection…</s-button>' +
      '<s-button data-act="backfill-all">Make models for all active products</s-button></s-button-group></div><div id="backfill-status">' + n.backfillHtml() + "</div></s-section>" +
      '<s-section heading="Model detail"><s-stack gap="base"><s-select id="face_limit_preset" label="Detail level" labelaccessibilityvisibility="exclusive" details="More faces keep more detail but make bigger files (' + range + ' faces).">' +
      FACE_PRESETS.map(function (p) { return '<s-option value="' + p[0] + '"' + (!custom && String(s.face_limit || "") === p[0] ? " selected" : "") + ">" + p[1] + "</s-option>"; }).join("") +
      '<s-option value="custom"' + (custom ? " selected" : "") + '>Custom…</s-option></s-select>' +
      '<s-number-field id="face_limit" name="face_limit" label="Face limit" inputmode="numeric" min="' + s.face_limit_range[0] + '" max="' + s.face_limit_range[1] + '" step="1" placeholder="faces" value="' + esc(custom ? s.face_limit : "") + '"' + (custom ? "" : " hidden") + "></s-number-field></s-stack></s-section>" +
      '<s-section heading="Publishing">' + checkbox("auto_publish", s.auto_publish, "Publish without review", "Finished models go straight onto the product. Leave off to approve each one.") + "</s-section>" +
      '<s-section heading="Notifications">' + checkbox("notify_failures", s.notify_failures, "Tell me when a model fails", "A banner at the top of Nu3D lists failed models until you deal with them.") + "</s-section>" +
      '<s-banner id="settings-error" tone="critical" hidden></s-banner><s-button type="submit" variant="primary">Save</s-button></form>';
  }

  async function settingsView() {
    n.setTitle("Settings", [{ label: "Save", primary: true, onClick: save }]);
    app.innerHTML = '<s-page heading="Settings" inlinesize="small"><s-link slot="breadcrumb-actions" href="/app" data-nav>‹ Products</s-link><div id="settings-body"><s-paragraph color="subdued">Loading…</s-paragraph></div></s-page>';
    var s;
    try { s = (await n.api("/app/api/settings")).settings; } catch (err) {
      document.getElementById("settings-body").innerHTML = '<s-banner tone="critical" heading="Settings could not be loaded">' + esc(err.message) + "</s-banner>";
      return;
    }
    if (n.current !== "settings") { return; }
    document.getElementById("settings-body").innerHTML = formHtml(s);
    var preset = document.getElementById("face_limit_preset"), number = document.getElementById("face_limit");
    preset.addEventListener("change", function () { number.hidden = preset.value !== "custom"; if (!number.hidden) { number.focus(); } });
    document.getElementById("settings-form").addEventListener("submit", function (e) { e.preventDefault(); save(); });
  }

  async function save() {
    var form = document.getElementById("settings-form");
    if (!form) { return; }
    var preset = document.getElementById("face_limit_preset").value;
    var number = document.getElementById("face_limit"), raw = number.value.trim();
    var face = preset === "custom" ? (raw === "" ? null : (/^\d+$/.test(raw) ? Number(raw) : raw)) : (preset ? Number(preset) : null);
    var body = { auto_generate: document.getElementById("auto_generate").values[0] === "true", face_limit: face,
      auto_publish: form.querySelector("s-checkbox[name=auto_publish]").checked, notify_failures: form.querySelector("s-checkbox[name=notify_failures]").checked };
    number.removeAttribute("error");
    var banner = document.getElementById("settings-error");
    banner.hidden = true;
    try {
      await n.api("/app/api/settings", { method: "PUT", json: body });
      n.toast("Settings saved");
      n.pollNow();
    } catch (err) {
      banner.hidden = false;
      banner.setAttribute("heading", "Not saved");
      banner.textContent = err.message;
      if (/face_limit/.test(err.message)) { number.setAttribute("error", err.message.replace(/^face_limit /, "Face limit ")); number.focus(); }
    }
  }

  n.views.settings = settingsView;
})();
