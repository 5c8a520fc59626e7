// The statistics page's charts (rectify/console/templates/statistics/page.html): the figures
// come from the page's JSON data block (the API's numbers, rendered by the server), drawn by the
// vendored ECharts as SVG. No inline script, no eval: the strict Content-Security-Policy holds.
(function () {
  "use strict";
  var block = document.getElementById("stats-data");
  if (!block || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(block.textContent);
  var charts = [];

  function draw(id, option) {
    var box = document.getElementById(id);
    if (!box) {
      return null;
    }
    var chart = echarts.init(box, null, { renderer: "svg" });
    option.animation = false;
    chart.setOption(option);
    charts.push(chart);
    return chart;
  }

  function labels(groups) {
    return groups.map(function (g) { return g.label || String(g.key); });
  }

  function series(groups, field, name, extra) {
    var s = { name: name, type: "bar", data: groups.map(function (g) { return g[field]; }) };
    return Object.assign(s, extra || {});
  }

  var groups = data.groups;
  var bars = draw("chart-groups", {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 48, right: 16, top: 36, bottom: 72 },
    xAxis: { type: "category", data: labels(groups), axisLabel: { rotate: groups.length > 6 ? 30 : 0 } },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      series(groups, "reported", "登记"),
      series(groups, "closed", "已销号"),
      series(groups, "overdue", "逾期"),
    ],
  });
  // Drill down by region: a bar leads where the table's link for that group leads.
  if (bars) {
    bars.on("click", function (params) {
      var row = document.querySelectorAll("#stats-table tbody tr")[params.dataIndex];
      var link = row && row.querySelector("a");
      if (link) {
        window.location.href = link.href;
      }
    });
  }

  var trend = data.trend;
  draw("chart-trend", {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 48, right: 16, top: 36, bottom: 40 },
    xAxis: { type: "category", data: labels(trend) },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      series(trend, "reported", "登记", { type: "line" }),
      series(trend, "closed", "已销号", { type: "line" }),
      series(trend, "overdue", "逾期", { type: "line" }),
    ],
  });

  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
})();
