/* Devstore stand-in for Polaris web components, part two (served appended to polaris.js): the controls —
 * buttons, links, checkboxes, selects, text fields, choice lists — and the index table. Each control keeps its
 * native element in its shadow root (focus is delegated to it) and fires `input` / `change` on the host, as
 * Polaris does, since native `change` events do not cross a shadow boundary. */
(function () {
  "use strict";
  var standIn = window.__polarisStandIn, component = standIn.component, fire = standIn.fire;
  function text(value) { return value == null ? "" : String(value); }
  function setAria(node, name, value) { if (value) { node.setAttribute(name, value); } else { node.removeAttribute(name); } }

  // ------------------------------------------------------------------ buttons and links
  function pressable(tag, pressed) {
    return component(tag, '<button type="button" class="button"><slot></slot></button>', function (el, root) {
      var target = root.querySelector(".button"), href = el.getAttribute("href");
      if (href) {
        target.href = href;
        target.target = el.getAttribute("target") === "auto" ? "" : text(el.getAttribute("target"));
      } else {
        target.disabled = el.hasAttribute("disabled") || el.hasAttribute("loading");
      }
      setAria(target, "aria-label", el.getAttribute("accessibilitylabel"));
      setAria(target, "aria-busy", el.hasAttribute("loading") ? "true" : "");
      if (pressed) { target.setAttribute("aria-pressed", String(el.hasAttribute("pressed"))); }
    }, true, { setup: function (el) {
      // a button with an href is a link that looks like a button
      if (el.hasAttribute("href")) { el.shadowRoot.innerHTML = '<a class="button"><slot></slot></a>'; }
      el.addEventListener("click", function (e) {
        if (el.hasAttribute("disabled")) { e.stopImmediatePropagation(); e.preventDefault(); return; }
        if (pressed) { el.toggleAttribute("pressed"); }
        var form = el.getAttribute("type") === "submit" && el.closest("form");
        if (form) { form.requestSubmit(); }
      });
    } });
  }
  var Pressable = pressable("s-press-button", true);
  Object.defineProperty(Pressable.prototype, "pressed", {
    get: function () { return this.hasAttribute("pressed"); }, set: function (v) { this.toggleAttribute("pressed", !!v); } });
  pressable("s-button", false);
  component("s-link", "<a><slot></slot></a>", function (el, root) {
    var a = root.querySelector("a");
    a.href = text(el.getAttribute("href"));
    a.target = el.getAttribute("target") === "auto" ? "" : text(el.getAttribute("target"));
    setAria(a, "aria-label", el.getAttribute("accessibilitylabel"));
    a.style.color = el.getAttribute("tone") === "neutral" ? "inherit" : "";
  }, true);

  // ------------------------------------------------------------------ fields
  // label, details and error come from attributes of the same names, as in Polaris
  function described(el, root) {
    var label = root.querySelector(".label");
    if (label) {
      label.textContent = text(el.getAttribute("label"));
      label.classList.toggle("visually-hidden", el.getAttribute("labelaccessibilityvisibility") === "exclusive");
    }
    root.querySelector(".details").textContent = text(el.getAttribute("details"));
    root.querySelector(".error").textContent = text(el.getAttribute("error"));
  }
  function relay(el, control) {
    control.addEventListener("input", function () { fire(el, "input"); });
    control.addEventListener("change", function () { fire(el, "change"); });
  }
  function valueProperty(cls, selector) {
    Object.defineProperty(cls.prototype, "value", {
      get: function () { return this.shadowRoot ? this.shadowRoot.querySelector(selector).value : text(this.getAttribute("value")); },
      set: function (v) { if (this.shadowRoot) { this.shadowRoot.querySelector(selector).value = text(v); } else { this.setAttribute("value", text(v)); } },
    });
  }
  var FIELD = '<label class="label" for="f"></label><input id="f"><span class="details"></span><span class="error" role="alert"></span>';
  [["s-text-field", "text"], ["s-search-field", "search"], ["s-number-field", "number"], ["s-email-field", "email"], ["s-url-field", "url"]].forEach(function (f) {
    var cls = component(f[0], FIELD, function (el, root) {
      var input = root.querySelector("input");
      ["placeholder", "min", "max", "step", "inputmode", "maxlength", "minlength", "autocomplete", "name"].forEach(function (a) {
        if (el.hasAttribute(a)) { input.setAttribute(a, el.getAttribute(a)); } else { input.removeAttribute(a); }
      });
      input.disabled = el.hasAttribute("disabled"); input.readOnly = el.hasAttribute("readonly"); input.required = el.hasAttribute("required");
      setAria(input, "aria-invalid", el.hasAttribute("error") ? "true" : "");
      described(el, root);
    }, true, { setup: function (el) {
      var input = el.shadowRoot.querySelector("input");
      input.type = f[1];
      input.value = text(el.getAttribute("value"));
      relay(el, input);
    } });
    valueProperty(cls, "input");
  });

  var Select = component("s-select", '<label class="label" for="f"></label><select id="f"></select><span class="details"></span><span class="error" role="alert"></span>', function (el, root) {
    var select = root.querySelector("select");
    select.disabled = el.hasAttribute("disabled");
    described(el, root);
  }, true, { setup: function (el) {
    var select = el.shadowRoot.querySelector("select");
    function options() {
      var keep = select.value;
      select.innerHTML = "";
      el.querySelectorAll("s-option").forEach(function (o) {
        var option = new Option(o.textContent.trim(), o.getAttribute("value") || o.textContent.trim(), false, o.hasAttribute("selected"));
        option.disabled = o.hasAttribute("disabled");
        select.add(option);
      });
      if (el.hasAttribute("value")) { select.value = el.getAttribute("value"); } else if (keep && !el.querySelector("s-option[selected]")) { select.value = keep; }
    }
    options();
    new MutationObserver(options).observe(el, { childList: true, subtree: true, characterData: true });
    relay(el, select);
  } });
  valueProperty(Select, "select");
  component("s-option", "<slot></slot>", function () {});

  var Checkbox = component("s-checkbox", '<label class="check"><input type="checkbox"><span class="label-text"></span></label><span class="details"></span><span class="error" role="alert"></span>', function (el, root) {
    var input = root.querySelector("input");
    root.querySelector(".label-text").textContent = text(el.getAttribute("label"));
    setAria(input, "aria-label", el.getAttribute("accessibilitylabel"));
    input.disabled = el.hasAttribute("disabled");
    input.indeterminate = el.hasAttribute("indeterminate");
    described(el, root);
  }, true, { setup: function (el) {
    var input = el.shadowRoot.querySelector("input");
    input.checked = el.hasAttribute("checked");
    relay(el, input);
  } });
  Object.defineProperty(Checkbox.prototype, "checked", {
    get: function () { return this.shadowRoot ? this.shadowRoot.querySelector("input").checked : this.hasAttribute("checked"); },
    set: function (v) { if (this.shadowRoot) { this.shadowRoot.querySelector("input").checked = !!v; } else { this.toggleAttribute("checked", !!v); } },
  });

  // a choice's own text names its input; its `details` slot describes it
  var Choice = component("s-choice", '<label class="check"><input><span><slot></slot><span class="details"><slot name="details"></slot></span></span></label>', function (el, root) {
    var input = root.querySelector("input"), list = el.closest("s-choice-list");
    input.type = list && list.hasAttribute("multiple") ? "checkbox" : "radio";
    input.disabled = el.hasAttribute("disabled") || !!(list && list.hasAttribute("disabled"));
    var own = Array.prototype.filter.call(el.childNodes, function (n) { return !(n.nodeType === 1 && n.hasAttribute("slot")); });
    input.setAttribute("aria-label", own.map(function (n) { return n.textContent; }).join("").trim());
  }, true, { setup: function (el) {
    var input = el.shadowRoot.querySelector("input");
    input.checked = el.hasAttribute("selected");
    input.addEventListener("change", function () {
      var list = el.closest("s-choice-list");
      if (!list) { return; }
      if (input.type === "radio") {
        list.querySelectorAll("s-choice").forEach(function (c) { if (c !== el) { c.selected = false; } });
      }
      fire(list, "input"); fire(list, "change");
    });
  } });
  Object.defineProperty(Choice.prototype, "selected", {
    get: function () { return this.shadowRoot ? this.shadowRoot.querySelector("input").checked : this.hasAttribute("selected"); },
    set: function (v) { if (this.shadowRoot) { this.shadowRoot.querySelector("input").checked = !!v; } else { this.toggleAttribute("selected", !!v); } },
  });
  var ChoiceList = component("s-choice-list", '<fieldset style="border:0;padding:0;margin:0"><legend class="label"></legend><div style="display:grid;gap:8px"><slot></slot></div>' +
    '<span class="details"></span><span class="error" role="alert"></span></fieldset>', described, false);
  Object.defineProperty(ChoiceList.prototype, "values", {
    get: function () {
      return Array.prototype.filter.call(this.querySelectorAll("s-choice"), function (c) { return c.selected; })
        .map(function (c) { return c.getAttribute("value"); });
    },
    set: function (values) { this.querySelectorAll("s-choice").forEach(function (c) { c.selected = values.indexOf(c.getAttribute("value")) >= 0; }); },
  });

  // ------------------------------------------------------------------ the index table
  // On a narrow screen (or variant="list") each row becomes a list item laid out by its column's `listslot`.
  component("s-table", '<div class="filters"><slot name="filters"></slot></div><div class="table" role="table"><slot></slot></div>' +
    '<nav class="pager" hidden><button type="button" class="button" data-page="previous" aria-label="Previous page">‹ Previous</button>' +
    '<button type="button" class="button" data-page="next" aria-label="Next page">Next ›</button></nav>', function (el, root) {
    root.querySelector(".pager").hidden = !el.hasAttribute("paginate");
    root.querySelector('[data-page="previous"]').disabled = !el.hasAttribute("haspreviouspage");
    root.querySelector('[data-page="next"]').disabled = !el.hasAttribute("hasnextpage");
    root.querySelector(".table").setAttribute("aria-busy", String(el.hasAttribute("loading")));
  }, false, { setup: function (el) {
    el.shadowRoot.querySelector(".pager").addEventListener("click", function (e) {
      var b = e.target.closest("[data-page]");
      if (b && !b.disabled) { el.dispatchEvent(new CustomEvent(b.dataset.page + "page")); }
    });
    function layout() { el.toggleAttribute("data-list", el.getAttribute("variant") === "list" || el.getBoundingClientRect().width < 600); }
    new ResizeObserver(layout).observe(el);
  } });
  var ROLES = { "s-table-header-row": "row", "s-table-header": "columnheader", "s-table-body": "rowgroup", "s-table-row": "row", "s-table-cell": "cell" };
  Object.keys(ROLES).forEach(function (tag) {
    standIn.define(tag, class extends HTMLElement {
      connectedCallback() {
        // the role through ElementInternals, as a component sets its own: the page's attributes stay the app's
        if (!this._internals) { this._internals = this.attachInternals(); this._internals.role = ROLES[tag]; }
        if (tag === "s-table-cell") {
          // the column's listslot places the cell in the list layout
          var row = this.parentElement, table = this.closest("s-table");
          var index = row ? Array.prototype.indexOf.call(row.children, this) : -1;
          var header = table && table.querySelectorAll("s-table-header-row > s-table-header")[index];
          this.dataset.listslot = header ? header.getAttribute("listslot") || "labeled" : "labeled";
          if (header && this.dataset.listslot === "labeled") { this.dataset.label = header.textContent.trim(); }
        }
      }
    });
  });
  var css = document.createElement("style");
  css.textContent = [
    "s-table-header-row{display:table-row}s-table-body{display:table-row-group}s-table-row{display:table-row}",
    "s-table-header{display:table-cell;text-align:left;font-size:12px;font-weight:550;color:#616161;padding:6px 8px;background:#f7f7f7;border-bottom:1px solid #ebebeb}",
    "s-table-cell{display:table-cell;padding:8px;border-bottom:1px solid #ebebeb;vertical-align:middle}",
    "s-table-row:hover>s-table-cell{background:#fafafa}",
    "s-table[data-list] s-table-header-row{display:none}",
    "s-table[data-list] s-table-row{display:grid;grid-template-columns:auto auto 1fr;column-gap:8px;padding:8px;border-bottom:1px solid #ebebeb}",
    "s-table[data-list] s-table-cell{display:block;padding:0;border:0;grid-column:3}",
    "s-table[data-list] s-table-cell[data-listslot=inline]{grid-column:auto;grid-row:1 / span 3}",
    "s-table[data-list] s-table-cell[data-listslot=labeled]::before{content:attr(data-label) \": \";color:#616161}",
    "s-table[data-list] s-table-cell:empty{display:none}",
  ].join("");
  document.head.appendChild(css);
})();
