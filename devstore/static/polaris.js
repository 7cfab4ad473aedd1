/* Devstore stand-in for Shopify's Polaris web components (https://cdn.shopify.com/shopifycloud/polaris.js).
 *
 * Served at {devstore}/cdn/shopifycloud/polaris.js so an embedded app renders readably offline. It styles a
 * few common elements and renders their `heading` attributes; it is not a Polaris implementation.
 * Covered: s-page, s-section, s-button (variant="primary", disabled), s-link (href), s-badge (tone),
 * s-banner (tone, heading), s-text, s-stack, s-box, s-paragraph, s-heading.
 */
(function () {
  "use strict";
  if (window.__devstorePolaris) { return; }
  window.__devstorePolaris = true;
  var css = [
    "s-page{display:block;max-width:1100px;margin:0 auto}",
    "s-page>.ds-heading{font:600 20px/1.3 system-ui,sans-serif;margin:4px 0 16px}",
    "s-section{display:block;background:#fff;border-radius:12px;box-shadow:0 1px 2px rgba(0,0,0,.15);padding:16px;margin:0 0 16px}",
    "s-section>.ds-heading{font:600 14px/1.4 system-ui,sans-serif;margin:0 0 8px}",
    "s-button{display:inline-block;cursor:pointer;user-select:none;font:500 12px/1 system-ui,sans-serif;padding:6px 10px;",
    "border-radius:8px;border:1px solid #c9cccf;background:#fff;margin:2px}",
    "s-button[variant=primary]{background:#303030;color:#fff;border-color:#303030}",
    "s-button[disabled]{opacity:.5;pointer-events:none}",
    "s-link{color:#005bd3;cursor:pointer;text-decoration:underline}",
    "s-badge{display:inline-block;font:12px system-ui,sans-serif;padding:2px 8px;border-radius:10px;background:#e3e3e3}",
    "s-badge[tone=success]{background:#cdfee1}s-badge[tone=critical]{background:#fed1d7}s-badge[tone=warning]{background:#fff1cf}",
    "s-banner{display:block;padding:12px;border-radius:8px;background:#eaf4ff;margin:0 0 12px}",
    "s-banner[tone=critical]{background:#fed1d7}s-banner[tone=success]{background:#cdfee1}s-banner[tone=warning]{background:#fff1cf}",
    "s-banner>.ds-heading{font-weight:600;margin:0 0 4px}",
    "s-stack,s-box{display:block}s-paragraph{display:block;margin:0 0 8px}s-heading{display:block;font-weight:600}"
  ].join("");
  var style = document.createElement("style");
  style.textContent = css;
  document.head.appendChild(style);

  function withHeading(name) {
    customElements.define(name, class extends HTMLElement {
      connectedCallback() {
        if (this.__ds || !this.getAttribute("heading")) { return; }
        this.__ds = true;
        var h = document.createElement("div");
        h.className = "ds-heading";
        h.textContent = this.getAttribute("heading");
        this.insertBefore(h, this.firstChild);
      }
    });
  }
  ["s-page", "s-section", "s-banner"].forEach(withHeading);

  customElements.define("s-button", class extends HTMLElement {
    connectedCallback() {
      this.setAttribute("role", "button");
      if (!this.hasAttribute("tabindex")) { this.setAttribute("tabindex", "0"); }
      this.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); this.click(); }
      });
      var href = this.getAttribute("href");
      if (href) { this.addEventListener("click", function () { window.location.href = href; }); }
    }
  });
  customElements.define("s-link", class extends HTMLElement {
    connectedCallback() {
      this.setAttribute("role", "link");
      var href = this.getAttribute("href");
      if (href) { this.addEventListener("click", function () { window.location.href = href; }); }
    }
  });
})();
