// Run in an email's HTML by tests/web/test_larger_text_browser.py: the computed size of every
// piece of text a reader sees, and the box of every link that stands alone (a link inside a
// sentence is exempt, as WCAG 2.5.8 exempts it: its size is the sentence's).
() => {
  const seen = (el) => {
    const style = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && style.visibility !== "hidden" && style.display !== "none" && parseFloat(style.opacity) > 0;
  };
  const label = (el) => `${el.tagName.toLowerCase()}${el.className ? "." + el.className : ""} "${el.textContent.trim().replace(/\s+/g, " ").slice(0, 40)}"`;
  const inSentence = (el) => {
    if (getComputedStyle(el).display !== "inline") return false;
    const own = el.textContent.trim();
    const around = el.parentElement.textContent.replace(own, "").replace(/[\s·|.,:;()\[\]]/g, "");
    return around.length > 0;
  };
  const text = [], headings = [], targets = [];
  for (const el of document.body.querySelectorAll("*")) {
    const own = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    if (!own || !seen(el)) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    (el.closest("h1, h2, h3, h4") ? headings : text).push({what: label(el), size});
  }
  for (const el of document.body.querySelectorAll("a[href], button")) {
    if (!seen(el) || inSentence(el)) continue;
    const r = el.getBoundingClientRect();
    targets.push({what: label(el), width: r.width, height: r.height});
  }
  return {text, headings, targets};
}
