// The checkpoint page's copy buttons (progressive enhancement: without this file each line is
// still selectable whole). Served by rectify; no inline script under the page's CSP.
"use strict";

function copyLine(button) {
  const target = document.getElementById(button.dataset.copy);
  if (!target) return;
  const text = target.textContent.trim();
  const done = () => {
    button.textContent = "已复制";
    setTimeout(() => { button.textContent = "复制这一行"; }, 2000);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => selectOnly(target));
  } else {
    selectOnly(target);  // plain HTTP on an intranet: select it for Ctrl+C
    button.textContent = "已选中，请按 Ctrl+C";
  }
}

function selectOnly(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button.copy[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", () => copyLine(button));
  }
});
