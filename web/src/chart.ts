// The history chart: pleasantness and energy over time (uPlot, loaded with the history chart).

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Aggregation, MoodSeries } from "./model";

/** Draw mean pleasantness and energy (−100 … 100) per bucket over `period` into `box`: a week
 * at 90% enraged and one at 90% joyful are far apart here. Returns a function that removes it. */
export function drawMoodChart(
  box: HTMLElement,
  series: MoodSeries,
  aggregation: Aggregation,
  period: [Date, Date],
): () => void {
  const xs = series.starts.map((start) => new Date(`${start}T00:00:00`).getTime() / 1000);
  // The page's own colours, so the axes read well in dark mode too.
  const css = getComputedStyle(document.documentElement);
  const ink = css.getPropertyValue("--muted").trim() || "#444";
  const grid = css.getPropertyValue("--line").trim() || "#eee";
  const percent = (values: number[]) => values.map((v) => Math.round(v * 100));
  const width = () => Math.max(280, box.clientWidth);
  const line = (label: string, colour: string, dash?: number[]) => ({
    label,
    stroke: colour,
    width: 2,
    ...(dash ? { dash } : {}),
    points: { show: true, size: 6, fill: colour },
    value: (_u: uPlot, v: number | null) => (v === null ? "–" : `${v > 0 ? "+" : ""}${v}`),
  });
  const plot = new uPlot(
    {
      width: width(),
      height: 240,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true, range: () => [period[0].getTime() / 1000, period[1].getTime() / 1000 + 86_400] }, y: { range: [-100, 100] } },
      axes: [
        { stroke: ink, grid: { stroke: grid } },
        {
          stroke: ink,
          grid: { stroke: grid },
          splits: () => [-100, -50, 0, 50, 100],
          values: (_u, ticks) => ticks.map((t) => (t === 100 ? "high" : t === -100 ? "low" : t === 0 ? "0" : "")),
          size: 44,
        },
      ],
      series: [
        {},
        line(`Pleasantness (mean per ${aggregation.toLowerCase()})`, "#1f7a4d"),
        line(`Energy (mean per ${aggregation.toLowerCase()})`, "#b5361f", [6, 4]),
      ],
    },
    [xs, percent(series.meanPleasantness), percent(series.meanEnergies)],
    box,
  );
  const resize = () => plot.setSize({ width: width(), height: 240 });
  window.addEventListener("resize", resize);
  return () => {
    window.removeEventListener("resize", resize);
    plot.destroy();
  };
}
