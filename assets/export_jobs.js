// GIF downloads run as export jobs: a progress box with Cancel instead of a silent 50 s wait.
// A click on a panel's GIF link (its href already carries ?epoch= from explore.js, which
// listens in the capture phase) starts POST /export-jobs/<variant>/<view>.gif, polls the
// job's status and, when it is done, downloads /export-jobs/<id>/file.
(function () {
  "use strict";
  const POLL_MS = 500;

  function box() {
    let element = document.getElementById("export-job-box");
    if (element) { return element; }
    element = document.createElement("div");
    element.id = "export-job-box";
    element.className = "export-job-box card shadow-sm p-2 small";
    element.innerHTML = '<div class="export-job-label fw-semibold"></div>' +
      '<div class="progress my-1" style="height: 6px"><div class="progress-bar" style="width: 0%"></div></div>' +
      '<div class="d-flex justify-content-between align-items-center gap-2">' +
      '<span class="export-job-message text-muted"></span>' +
      '<button type="button" class="btn btn-sm btn-outline-secondary py-0 export-job-action">Cancel</button></div>';
    document.body.appendChild(element);
    return element;
  }

  function show(status, onAction, actionLabel) {
    const element = box();
    element.dataset.state = status.state;
    element.querySelector(".export-job-label").textContent = "Export " + (status.label || "");
    element.querySelector(".progress-bar").style.width = Math.round(100 * (status.fraction || 0)) + "%";
    element.querySelector(".export-job-message").textContent = status.message || status.state;
    const button = element.querySelector(".export-job-action");
    button.textContent = actionLabel;
    button.onclick = onAction;
  }

  function close() {
    const element = document.getElementById("export-job-box");
    if (element) { element.remove(); }
  }

  function poll(id) {
    fetch("/export-jobs/" + id).then(function (reply) { return reply.json(); }).then(function (status) {
      if (status.state === "done") {
        show(status, close, "Close");
        window.location.assign("/export-jobs/" + id + "/file");
        return;
      }
      if (status.state === "failed" || status.state === "cancelled") {
        show(status, close, "Close");
        return;
      }
      show(status, function () { fetch("/export-jobs/" + id + "/cancel", {method: "POST"}); }, "Cancel");
      window.setTimeout(function () { poll(id); }, POLL_MS);
    }).catch(function (error) {
      show({state: "failed", message: String(error)}, close, "Close");
    });
  }

  function start(url) {
    const target = "/export-jobs" + url.pathname.slice("/download".length) + url.search;
    show({state: "queued", message: "starting…", label: url.pathname.split("/").pop()}, close, "Close");
    fetch(target, {method: "POST"}).then(function (reply) {
      if (reply.ok) { return reply.json().then(function (status) { show(status, close, "Cancel"); poll(status.id); }); }
      return reply.text().then(function (text) { show({state: "failed", message: text}, close, "Close"); });
    });
  }

  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest("a.download-link");
    if (!link) { return; }
    const url = new URL(link.href, window.location.href);
    if (!url.pathname.startsWith("/download/") || !url.pathname.endsWith(".gif")) { return; }
    event.preventDefault();
    event.stopPropagation();
    start(url);
  });
})();
