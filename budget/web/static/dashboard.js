/* Budget dashboard: live updates from the event stream and the spend chart.
   Pages work without this script; it only keeps them current. */
(function () {
  "use strict";
  var PALETTE = ["#1d4ed8", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0e7490",
    "#a16207", "#be185d", "#4d7c0f", "#334155"];
  var charts = [];

  function status(text) {
    var el = document.getElementById("live-status");
    if (el) { el.textContent = text; }
  }

  function chartConfig(data) {
    var money = data.metric === "cost";
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.datasets.map(function (d, i) {
          return { label: d.label, data: d.data, backgroundColor: PALETTE[i % PALETTE.length], stack: "spend" };
        })
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: { duration: 300 },
        scales: {
          x: { stacked: true },
          y: { stacked: true, beginAtZero: true, title: { display: true, text: money ? "USD" : "tokens" } }
        },
        plugins: { legend: { position: "bottom" } }
      }
    };
  }

  function total(data) {
    var sum = 0;
    data.datasets.forEach(function (d) { d.data.forEach(function (v) { sum += v; }); });
    return sum;
  }

  function drawChart(canvas, data) {
    canvas.dataset.total = String(total(data));
    var existing = charts.filter(function (c) { return c.canvas === canvas; })[0];
    if (existing) {
      var fresh = chartConfig(data);
      existing.chart.data.labels = fresh.data.labels;
      existing.chart.data.datasets = fresh.data.datasets;
      existing.chart.update();
      return;
    }
    charts.push({ canvas: canvas, chart: new window.Chart(canvas, chartConfig(data)) });
  }

  function initChart() {
    var canvas = document.getElementById("spend-chart");
    var source = document.getElementById("spend-chart-data");
    if (!canvas || !source || !window.Chart) { return; }
    drawChart(canvas, JSON.parse(source.textContent));
  }

  function refreshChart() {
    var canvas = document.getElementById("spend-chart");
    if (!canvas || !window.Chart) { return; }
    fetch(canvas.dataset.source, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { drawChart(canvas, data); } })
      .catch(function () { status("chart refresh failed"); });
  }

  var pending = null;
  var last = 0;
  function changed() {
    // events come in bursts (allocation, usage, alert): refresh once for a burst,
    // and at most once a second under a steady stream
    if (pending) { return; }
    var wait = Math.max(150, last + 1000 - Date.now());
    pending = setTimeout(function () {
      pending = null;
      last = Date.now();
      document.body.dispatchEvent(new CustomEvent("live"));
      refreshChart();
    }, wait);
  }

  function listen() {
    var url = document.body.dataset.live;
    if (!url || !window.EventSource) { return; }
    var source = new EventSource(url);
    source.onopen = function () { status("live"); };
    source.onmessage = changed;
    ["usage.recorded", "usage.corrected", "allocation.created", "allocation.released",
      "allocation.expired", "budget.limit_approaching", "budget.limit_exceeded",
      "price.unpriced_model"].forEach(function (type) { source.addEventListener(type, changed); });
    source.onerror = function () { status("reconnecting…"); };
    window.addEventListener("pagehide", function () { source.close(); });
  }

  // a refresh would drop what the user is doing in a form (ticked alerts):
  // skip it then; the next event or a reload brings the figures
  document.addEventListener("htmx:beforeRequest", function (event) {
    var region = event.detail.elt;
    if (region && region.querySelector && region.querySelector("input[type=checkbox]:checked")) {
      event.preventDefault();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    initChart();
    listen();
  });
})();
