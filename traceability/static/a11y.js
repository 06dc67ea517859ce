// After a refused form, focus its error summary (which scrolls it into view and
// has a screen reader read it), unless a field asks for the focus: a scan box
// must keep it for the next scan. On "load": focused at DOMContentLoaded, the
// summary lost the focus to the body again in Chromium.
window.addEventListener("load", () => {
  const summary = document.querySelector("[data-error-summary]");
  if (summary && !document.querySelector("[autofocus]")) summary.focus();
  // Text present at load is not announced by a live region; filled in after, it is.
  for (const region of document.querySelectorAll("[data-announce]")) {
    setTimeout(() => { region.textContent = region.dataset.announce; }, 100);
  }
});
