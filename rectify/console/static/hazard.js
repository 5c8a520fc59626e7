// The hazard page: draws the workflow's state diagram with the vendored mermaid (from the
// Mermaid text in the page, current states marked), and uploads evidence one file per request
// with a progress bar. Without this file the page still works: the diagram's text is there and
// the upload form posts every file at once. Served by rectify; no inline script (CSP).
"use strict";

function drawDiagram() {
  const source = document.getElementById("diagram-source");
  const view = document.getElementById("diagram-view");
  if (!source || !view || !window.mermaid) return;
  // Drawn at its own size (the card scrolls sideways): squeezed to the page it is unreadable.
  window.mermaid.initialize({
    startOnLoad: false,
    securityLevel: "strict",
    theme: "neutral",
    state: { useMaxWidth: false },
  });
  window.mermaid.render("hazard-diagram", source.textContent).then(
    (result) => {
      view.innerHTML = result.svg;  // mermaid's own SVG, sanitised by securityLevel "strict"
      view.setAttribute("aria-hidden", "false");
      view.setAttribute("role", "img");
      view.setAttribute("aria-label", "流程图");
    },
    () => { view.textContent = "流程图无法绘制，请查看下方的文本。"; },
  );
}

function uploadOne(form, file, stage, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const url = form.action + "?stage=" + encodeURIComponent(stage);
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRF-Token", form.elements.csrf_token.value);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) { resolve(); return; }
      let message = "上传失败（" + xhr.status + "）";
      try {
        const body = JSON.parse(xhr.responseText);
        if (body.message) message = body.message;
        else if (xhr.status === 413) message = "文件太大，请压缩后再上传。";
      } catch (_) { /* not JSON: keep the status */ }
      reject(new Error(file.name + "：" + message));
    });
    xhr.addEventListener("error", () => reject(new Error(file.name + "：网络中断，请重试。")));
    const body = new FormData();
    body.append("file", file, file.name);
    xhr.send(body);
  });
}

function enhanceUpload() {
  const form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  const input = form.querySelector('input[type="file"]');
  const box = document.getElementById("upload-progress");
  const bar = document.getElementById("upload-bar");
  const status = document.getElementById("upload-status");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const files = Array.from(input.files || []);
    if (!files.length) { input.reportValidity(); return; }
    const checked = form.querySelector('input[name="stage"]:checked');
    const stage = checked ? checked.value : "";
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    box.hidden = false;
    let done = 0;
    try {
      for (const file of files) {
        status.textContent = "正在上传 " + (done + 1) + "/" + files.length + "：" + file.name;
        await uploadOne(form, file, stage, (part) => {
          bar.value = Math.round(((done + part) / files.length) * 100);
        });
        done += 1;
        bar.value = Math.round((done / files.length) * 100);
      }
      status.textContent = "已上传 " + done + " 个文件，正在刷新…";
      window.location.assign(window.location.pathname + "?uploaded=" + done + "#evidence");
    } catch (error) {
      status.textContent = (done ? "已上传 " + done + " 个；" : "") + error.message;
      status.classList.add("field-error");
      button.disabled = false;
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  drawDiagram();
  enhanceUpload();
});
