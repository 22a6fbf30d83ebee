// Run in a page by tests/web/test_targets_browser.py: each target under 44×44 CSS px, and each
// control whose focus ring has less than 3:1 contrast against what is around it.
() => {
  const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const contrast = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const name = (el) => `${el.tagName.toLowerCase()}${el.name ? "[name=" + el.name + "]" : ""} "${(el.innerText || el.value || el.getAttribute("aria-label") || "").trim().slice(0, 40)}"`;
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.right > 0 && r.left < innerWidth + 1 && !el.closest("[aria-hidden=true]");
  };
  const inSentence = (el) => {
    if (el.tagName !== "A" || getComputedStyle(el).display !== "inline") return false;
    const own = el.textContent.trim();
    const around = el.parentElement.textContent.replace(own, "").replace(/[\s·|.,:;()]/g, "");
    return around.length > 0;
  };
  // What a reader can open is measured open.
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  const small = [], faint = [];
  let count = 0;
  for (const el of document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary")) {
    if (!shown(el) || el.tabIndex < 0 || inSentence(el)) continue;
    count++;
    const box = ((el.type === "checkbox" || el.type === "radio") && el.closest("label")) || el;
    const r = box.getBoundingClientRect();
    if (r.width < 43.5 || r.height < 43.5) small.push(`${name(el)} ${Math.round(r.width)}×${Math.round(r.height)}`);
    el.focus();
    const style = getComputedStyle(el);
    const width = parseFloat(style.outlineWidth) || 0;
    const ring = style.outlineStyle !== "none" && width >= 2 ? contrast(rgb(style.outlineColor), background(el.parentElement)) : 0;
    if (ring < 3) faint.push(`${name(el)} ${ring.toFixed(2)}:1`);
    el.blur();
  }
  return {count, small, faint};
}
