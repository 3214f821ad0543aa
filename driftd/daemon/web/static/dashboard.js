// Draws the charts whose data the page carries (see driftd/daemon/web/charts.py): the
// series, each rule's threshold as a dashed line, alert episodes shaded, promotions and
// the ?at= time as vertical lines. Each chart's container gets data-points (points
// drawn), data-thresholds, data-episodes and data-markers, for tests. Tables with
// class "sortable" sort by a clicked column (numbers by their data-value).
(function () {
  var data = JSON.parse(document.getElementById("data").textContent || "{}");
  var palette = ["#1f4e9c", "#b42318", "#067647", "#b54708", "#6941c6", "#0e9384",
                 "#c11574", "#475467"];

  function overlay(chart) {
    // A uPlot draw hook: shading and lines in data coordinates, under the legend.
    return function (u) {
      var ctx = u.ctx, box = u.bbox;
      var x0 = u.scales.x.min, x1 = u.scales.x.max;
      ctx.save();
      ctx.textAlign = "left";
      ctx.textBaseline = "alphabetic";
      (chart.episodes || []).forEach(function (ep) {
        var start = Math.max(ep[0], x0), end = ep[1] === null ? x1 : Math.min(ep[1], x1);
        if (end <= start) { return; }
        var a = u.valToPos(start, "x", true), b = u.valToPos(end, "x", true);
        ctx.fillStyle = "rgba(180, 35, 24, 0.09)";
        ctx.fillRect(a, box.top, b - a, box.height);
      });
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 1.5;
      (chart.thresholds || []).forEach(function (th) {
        var y = u.valToPos(th.value, "y", true);
        if (y < box.top || y > box.top + box.height) { return; }
        ctx.strokeStyle = "#b42318";
        ctx.beginPath(); ctx.moveTo(box.left, y); ctx.lineTo(box.left + box.width, y);
        ctx.stroke();
        ctx.fillStyle = "#b42318";
        ctx.font = "11px Arial";
        ctx.fillText(th.label, box.left + 4, y - 4);
      });
      ctx.setLineDash([]);
      var lines = (chart.markers || []).map(function (m) { return [m[0], m[1], "#067647"]; });
      if (data.at) { lines.push([data.at, "alert", "#b54708"]); }
      lines.forEach(function (m) {
        if (m[0] < x0 || m[0] > x1) { return; }
        var x = u.valToPos(m[0], "x", true);
        ctx.strokeStyle = m[2];
        ctx.beginPath(); ctx.moveTo(x, box.top); ctx.lineTo(x, box.top + box.height);
        ctx.stroke();
        ctx.fillStyle = m[2];
        ctx.font = "11px Arial";
        ctx.fillText(m[1], x + 3, box.top + 12);
      });
      ctx.restore();
    };
  }

  (data.charts || []).forEach(function (chart) {
    var node = document.getElementById(chart.id);
    var names = Object.keys(chart.series).filter(function (n) {
      return chart.series[n].some(function (p) { return p[1] !== null; });
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
    var low = Infinity, high = -Infinity;
    names.forEach(function (n) {
      var column = xs.map(function () { return null; });
      chart.series[n].forEach(function (p) {
        column[index[p[0]]] = p[1];
        if (p[1] !== null) {
          points += 1; low = Math.min(low, p[1]); high = Math.max(high, p[1]);
        }
      });
      columns.push(column);
    });
    (chart.thresholds || []).forEach(function (th) {  // keep each line in view
      low = Math.min(low, th.value); high = Math.max(high, th.value);
    });
    node.setAttribute("data-points", String(points));
    node.setAttribute("data-thresholds", String((chart.thresholds || []).length));
    node.setAttribute("data-episodes", String((chart.episodes || []).length));
    node.setAttribute("data-markers", String((chart.markers || []).length));
    if (!points) {
      var empty = document.createElement("p");
      empty.className = "empty";
      empty.textContent = "No data yet.";
      node.appendChild(empty);
      return;
    }
    var pad = (high - low) * 0.08 || 0.05;
    var series = [{}].concat(names.map(function (n, i) {
      return {label: n, stroke: palette[i % palette.length], width: 1.5, spanGaps: true};
    }));
    new uPlot({width: 560, height: 240, series: series,
               scales: {x: {time: true}, y: {range: [low - pad, high + pad]}},
               hooks: {draw: [overlay(chart)]}}, columns, node);
  });

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var heads = table.querySelectorAll("th");
    Array.prototype.forEach.call(heads, function (th, column) {
      th.addEventListener("click", function () {
        var rows = Array.prototype.slice.call(table.querySelectorAll("tr")).slice(1);
        var down = th.getAttribute("data-order") !== "desc";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("data-order"); });
        th.setAttribute("data-order", down ? "desc" : "asc");
        function key(row) {
          var cell = row.children[column];
          var valued = cell.querySelector("[data-value]");
          return valued ? Number(valued.getAttribute("data-value")) : cell.textContent.trim();
        }
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var order = (typeof x === "number" && typeof y === "number") ? x - y
                      : String(x).localeCompare(String(y));
          return down ? -order : order;
        });
        rows.forEach(function (row) { table.appendChild(row); });
      });
    });
  });

  // ?sort=COLUMN (a header's text) sorts on load, as a click would: shareable views.
  var wanted = new URLSearchParams(window.location.search).get("sort");
  if (wanted) {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable th"), function (th) {
      if (th.textContent.trim() === wanted) { th.click(); }
    });
  }
})();
