/**
 * The app's only stylesheet and client script, served from the app itself (the CSP allows nothing
 * else). The script is progressive: every page works without it (forms submit as plain GETs); with
 * it, a region marked `data-live="<events url>"` is refetched from its `data-fragment` URL whenever
 * the server sends an `update` event, and a region's form controls refetch it on change.
 */

/** The stylesheet, served at /static/app.css. */
export const APP_CSS = `*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
.top-bar{display:flex;gap:1.5em;align-items:center;padding:.6em 1.5em;background:#263238;color:#fff}
.top-bar a{color:#fff;text-decoration:none}.brand{font-weight:bold}
main{padding:1em 1.5em;max-width:1400px}
.breadcrumbs{color:#555;margin:0}
table{border-collapse:collapse;margin:1em 0;background:#fff}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eceff1}
.status-running{color:#0a7d12;font-weight:bold}.status-interrupted{color:#b45309}.status-finished{color:#374151}
.text{white-space:pre-wrap;background:#fff;border:1px solid #ddd;padding:.5em;margin:.3em 0;max-width:70em}
.muted{color:#666}.error{color:#b00020}
.columns{display:grid;grid-template-columns:1fr 1fr;gap:1em}
.controls{display:flex;gap:1em;align-items:center;flex-wrap:wrap;margin:.5em 0}
.heat-map a:focus rect,.heat-map a:hover rect{stroke:#000;stroke-width:2}
.legend{display:flex;gap:.3em;align-items:center}
table.answers{table-layout:fixed;width:100%}
form.login{display:flex;flex-direction:column;gap:.5em;max-width:24em}
`;

/** The client script, served at /static/app.js. */
export const APP_JS = `"use strict";
(function () {
  function fragmentUrl(region) {
    var url = new URL(region.dataset.fragment, location.href);
    var form = region.dataset.form ? document.getElementById(region.dataset.form) : null;
    if (form) new FormData(form).forEach(function (value, name) { url.searchParams.set(name, String(value)); });
    return url;
  }
  function refresh(region) {
    var url = fragmentUrl(region);
    return fetch(url, { headers: { accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        region.innerHTML = html;
        region.dataset.refreshes = String(Number(region.dataset.refreshes || "0") + 1);
        history.replaceState(null, "", location.pathname + url.search);
      })
      .catch(function () { region.dataset.error = "refresh failed"; });
  }
  function sliderOf(region) {
    var form = region.dataset.form ? document.getElementById(region.dataset.form) : null;
    return form ? form.querySelector("input[type=range]") : null;
  }
  function showSliderValue(slider) {
    var output = document.getElementById(slider.id + "-value");
    if (output) output.textContent = slider.value;
  }
  document.querySelectorAll("[data-fragment]").forEach(function (region) {
    var form = region.dataset.form ? document.getElementById(region.dataset.form) : null;
    if (form) {
      form.addEventListener("submit", function (event) { event.preventDefault(); refresh(region); });
      form.addEventListener("change", function () { refresh(region); });
      form.addEventListener("input", function (event) { if (event.target.type === "range") showSliderValue(event.target); });
    }
    if (!region.dataset.live) return;
    var events = new EventSource(region.dataset.live);
    events.addEventListener("update", function (event) {
      var update = JSON.parse(event.data);
      var slider = sliderOf(region);
      if (slider && typeof update.latestRound === "number") {
        var following = slider.value === slider.max;
        slider.max = String(Math.max(0, update.latestRound));
        if (following) slider.value = slider.max;
        showSliderValue(slider);
      }
      var completed = document.getElementById("rounds-completed");
      if (completed && typeof update.latestRound === "number") completed.textContent = String(update.latestRound + 1);
      var status = document.getElementById("live-status");
      if (status && update.status) status.textContent = update.status;
      refresh(region);
    });
  });
})();
`;
