// The intensity chart (uPlot, loaded only when the history screen shows a chart).

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Aggregation, MoodSeries } from "./model";

/** Draw mean intensity per bucket over `period` into `box`; returns a function that removes the chart. */
export function drawIntensityChart(
  box: HTMLElement,
  series: MoodSeries,
  aggregation: Aggregation,
  period: [Date, Date],
): () => void {
  const xs = series.starts.map((start) => new Date(`${start}T00:00:00`).getTime() / 1000);
  const ys = series.meanIntensities.map((v) => Math.round(v * 100));
  const width = () => Math.max(280, box.clientWidth);
  const plot = new uPlot(
    {
      width: width(),
      height: 220,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true, range: () => [period[0].getTime() / 1000, period[1].getTime() / 1000 + 86_400] }, y: { range: [0, 100] } },
      axes: [
        { stroke: "#444", grid: { stroke: "#eee" } },
        { stroke: "#444", grid: { stroke: "#eee" }, values: (_u, ticks) => ticks.map((t) => `${t}%`), size: 48 },
      ],
      series: [
        {},
        {
          label: `mean intensity per ${aggregation.toLowerCase()}`,
          stroke: "#5b3fa6",
          width: 2,
          fill: "rgba(91, 63, 166, 0.12)",
          points: { show: true, size: 6, fill: "#5b3fa6" },
        },
      ],
    },
    [xs, ys],
    box,
  );
  const resize = () => plot.setSize({ width: width(), height: 220 });
  window.addEventListener("resize", resize);
  return () => {
    window.removeEventListener("resize", resize);
    plot.destroy();
  };
}
