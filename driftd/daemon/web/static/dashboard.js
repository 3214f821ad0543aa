// Draws the charts whose data the page carries (see driftd/daemon/dashboard.py).
// Each chart's container gets data-points = the number of points drawn, for tests.
(function () {
  var data = JSON.parse(document.getElementById("data").textContent || "{}");
  var palette = ["#1f4e9c", "#b42318", "#067647", "#b54708", "#6941c6", "#0e9384",
                 "#c11574", "#475467"];
  (data.charts || []).forEach(function (chart) {
    var node = document.getElementById(chart.id);
    var names = Object.keys(chart.series).filter(function (n) {
      return chart.series[n].length > 0;
    });
    var times = {};
    names.forEach(function (n) {
      chart.series[n].forEach(function (p) { times[p[0]] = true; });
    });
    var xs = Object.keys(times).map(Number).sort(function (a, b) { return a - b; });
    var index = {};
    xs.forEach(function (t, i) { index[t] = i; });
    var columns = [xs];
    var points = 0;
    names.forEach(function (n) {
      var column = xs.map(function () { return null; });
      chart.series[n].forEach(function (p) {
        column[index[p[0]]] = p[1];
        if (p[1] !== null) { points += 1; }
      });
      columns.push(column);
    });
    node.setAttribute("data-points", String(points));
    if (!xs.length) {
      node.appendChild(document.createTextNode("No data yet."));
      return;
    }
    var series = [{}].concat(names.map(function (n, i) {
      return {label: n, stroke: palette[i % palette.length], width: 1.5, spanGaps: true};
    }));
    new uPlot({width: 560, height: 240, series: series, scales: {x: {time: true}}}, columns, node);
  });
})();
