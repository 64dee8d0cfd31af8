// Draws the regulator's chart of certificates issued per institution per month (/supervision/certificates)
// with the vendored ECharts. The numbers come from the page itself: the JSON in the data-series
// attribute of <div id="chart">, the same figures as the table below it. No inline script or style
// is needed (the page's Content-Security-Policy forbids both): ECharts draws on a canvas and sets
// its element styles through the CSSOM, and the tooltip is drawn on the canvas too (renderMode
// "richText"), since its HTML form would carry style attributes.
(function () {
  "use strict";

  function draw(el) {
    var data = JSON.parse(el.getAttribute("data-series"));
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.on("finished", function () {
      // User Timing: when the chart is drawn (developer tools and benchmarks/pages.py read it)
      if (!performance.getEntriesByName("jiliang:chart-drawn").length) performance.mark("jiliang:chart-drawn");
    });
    // The legend is one scrolling line at the top; the axis names sit beside their axes, each in the
    // middle (the y name turned upright), so neither can run into the legend at any width.
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, renderMode: "richText" },
      legend: { type: "scroll", top: 0, left: 8, right: 8 },
      grid: { left: 72, right: 16, top: 44, bottom: 56 },
      xAxis: {
        type: "category",
        data: data.months,
        name: data.xName,
        nameLocation: "middle",
        nameGap: 32,
      },
      yAxis: {
        type: "value",
        name: data.yName,
        nameLocation: "middle",
        nameRotate: 90,
        nameGap: 48,
        minInterval: 1,
      },
      series: data.series.map(function (s) {
        return {
          name: s.name,
          type: "bar",
          stack: "certificates",
          emphasis: { focus: "series" },
          itemStyle: { color: s.color }, // one of twenty distinct hues (supervision_views.PALETTE)
          data: s.data,
        };
      }),
    });
    window.addEventListener("resize", function () {
      chart.resize();
    });
    el.setAttribute("data-drawn", "yes");
  }

  var el = document.getElementById("chart");
  if (el && el.hasAttribute("data-series") && window.echarts) {
    draw(el);
  }
})();
