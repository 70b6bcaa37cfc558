// History: pleasantness and energy over time in day/week/month buckets, a year in pixels, and
// every entry.

import { useEffect, useRef, useState } from "preact/hooks";
import { describe, gqlKept } from "../api";
import { ENTRY, QUADRANT_COLOUR, quadrantOf, timeZone, type Aggregation, type MoodEntry, type MoodSeries, type MoodWord } from "../model";
import { Empty, ErrorText } from "./common";
import { useVocabulary } from "./checkin";
import { localInputValue } from "./context";
import { MoodCard } from "./entries";

const DAY_MS = 86_400_000;
const SPAN: Record<Exclude<Aggregation, "NONE">, [number, string]> = {
  DAY: [30, "Last 30 days, by day"],
  WEEK: [182, "Last 26 weeks, by week"],
  MONTH: [365, "Last 12 months, by month"],
};
const SERIES = "series { starts counts meanIntensities dominantMoods meanEnergies meanPleasantness }";
const HISTORY = `query($from: DateTime!, $to: DateTime!, $agg: Aggregation!, $tz: String!) {
  moodHistory(from: $from, to: $to, aggregation: $agg, timeZone: $tz) { ${SERIES} }
}`;

function range(days: number): { from: string; to: string } {
  const to = new Date(Date.now() + 60_000);
  return { from: new Date(to.getTime() - days * DAY_MS).toISOString(), to: to.toISOString() };
}

function Chart({ series, aggregation, days }: { series: MoodSeries; aggregation: Aggregation; days: number }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let destroyed = false;
    let dispose = () => undefined as void;
    void import("../chart").then(({ drawMoodChart }) => {
      if (!destroyed && box.current) {
        const { from, to } = range(days);
        dispose = drawMoodChart(box.current, series, aggregation, [new Date(from), new Date(to)]);
      }
    });
    return () => {
      destroyed = true;
      dispose();
    };
  }, [series, aggregation, days]);
  const unit = aggregation.toLowerCase() + (series.starts.length === 1 ? "" : "s");
  const last = series.starts.length - 1;
  const describeLast = () => {
    const p = series.meanPleasantness[last] ?? 0;
    const e = series.meanEnergies[last] ?? 0;
    return `The latest ${aggregation.toLowerCase()} was ${p >= 0 ? "pleasant" : "unpleasant"} (${Math.round(p * 100)}) with ${e >= 0 ? "high" : "low"} energy (${Math.round(e * 100)}).`;
  };
  const summary = series.starts.length ? `${series.starts.length} ${unit} with check-ins. ${describeLast()}` : "";
  return (
    <div class="chart" ref={box} role="img" aria-label={`Chart of pleasantness and energy, from low (−100) to high (+100). ${summary}`} data-testid="mood-chart" />
  );
}

function checkIns(count: number): string {
  return count === 1 ? "1 check-in" : `${count} check-ins`;
}

function YearInPixels({ series, words, onDay }: { series: MoodSeries | null; words: MoodWord[]; onDay: (day: string) => void }) {
  if (series === null) return <p class="muted">Loading…</p>;
  const quadrantOfWord = new Map(words.map((w) => [w.word, w.quadrant]));
  const byDay = new Map<string, number>();
  series.starts.forEach((start, i) => byDay.set(start, i));
  const today = new Date();
  const first = new Date(today.getFullYear(), today.getMonth() - 11, 1);
  const months: { label: string; days: { key: string; index: number | undefined }[] }[] = [];
  for (let m = 0; m < 12; m++) {
    const month = new Date(first.getFullYear(), first.getMonth() + m, 1);
    const count = new Date(month.getFullYear(), month.getMonth() + 1, 0).getDate();
    const days = [];
    for (let d = 1; d <= count; d++) {
      const key = `${month.getFullYear()}-${String(month.getMonth() + 1).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
      days.push({ key, index: byDay.get(key) });
    }
    months.push({ label: month.toLocaleDateString(undefined, { month: "short" }), days });
  }
  return (
    <div class="pixels" data-testid="year-in-pixels">
      {months.map((month) => (
        <div class="pixel-row" key={month.label}>
          <span class="pixel-month">{month.label}</span>
          {month.days.map(({ key, index }) => {
            if (index === undefined) return <span key={key} class="pixel" title={key} />;
            const mood = series.dominantMoods[index] ?? "";
            // The colour of the mood the tooltip names (a hopeful day with one tired moment is
            // a hopeful day); the mean only when the words are not known yet.
            const quadrant = quadrantOfWord.get(mood) ?? quadrantOf(series.meanEnergies[index] ?? 0, series.meanPleasantness[index] ?? 0);
            return (
              <button
                type="button"
                key={key}
                onClick={() => onDay(key)}
                aria-label={`${key}: mostly ${mood}, ${checkIns(series.counts[index] ?? 0)}. Show this day`}
                class="pixel filled"
                style={{ background: QUADRANT_COLOUR[quadrant], opacity: 0.45 + 0.55 * (series.meanIntensities[index] ?? 0) }}
                title={`${key}: mostly ${mood} (${checkIns(series.counts[index] ?? 0)})`}
                data-day={key}
                data-quadrant={quadrant}
              />
            );
          })}
        </div>
      ))}
    </div>
  );
}

interface Filter {
  text: string;
  mood: string;
  tag: string;
  day: string;
}
const NO_FILTER: Filter = { text: "", mood: "", tag: "", day: "" };

function localDay(iso: string): string {
  return localInputValue(new Date(iso)).slice(0, 10);
}

function matches(e: MoodEntry, f: Filter): boolean {
  const c = e.contextFactors;
  const text = f.text.trim().toLowerCase();
  const haystack = [e.moodType, e.note ?? "", c.location ?? "", ...c.tags].join(" ").toLowerCase();
  return (
    (!text || haystack.includes(text)) &&
    (!f.mood || e.moodType === f.mood) &&
    (!f.tag || c.tags.includes(f.tag)) &&
    (!f.day || localDay(e.recordedAt) === f.day)
  );
}

function Filters({ entries, filter, onChange }: { entries: MoodEntry[]; filter: Filter; onChange: (f: Filter) => void }) {
  const moods = [...new Set(entries.map((e) => e.moodType))].sort();
  const tags = [...new Set(entries.flatMap((e) => e.contextFactors.tags))].sort();
  return (
    <div class="filters" role="search" aria-label="Find entries">
      <label>
        Search
        <input type="search" name="search" value={filter.text} placeholder="a word from a note, a place, a tag" onInput={(e) => onChange({ ...filter, text: e.currentTarget.value })} />
      </label>
      <div class="grid2">
        <label>
          Mood
          <select name="filterMood" value={filter.mood} onChange={(e) => onChange({ ...filter, mood: e.currentTarget.value })}>
            <option value="">any</option>
            {moods.map((m) => <option key={m} value={m}>{m}</option>)}
          </select>
        </label>
        <label>
          Tag
          <select name="filterTag" value={filter.tag} onChange={(e) => onChange({ ...filter, tag: e.currentTarget.value })}>
            <option value="">any</option>
            {tags.map((t) => <option key={t} value={t}>{t}</option>)}
          </select>
        </label>
      </div>
      {filter.day && (
        <p class="notice" data-testid="day-filter">
          Showing {filter.day}.{" "}
          <button type="button" class="calm-link" onClick={() => onChange({ ...filter, day: "" })}>
            Show every day
          </button>
        </p>
      )}
    </div>
  );
}

const QUADRANT_SHORT: Record<string, string> = {
  "high-energy-pleasant": "bright",
  "low-energy-pleasant": "calm",
  "high-energy-unpleasant": "tense",
  "low-energy-unpleasant": "low",
};

/** This month in numbers: check-ins, the moods felt most, and the quadrants. */
function MonthSummary({ entries, words }: { entries: MoodEntry[]; words: MoodWord[] }) {
  const month = localDay(new Date().toISOString()).slice(0, 7);
  const mine = entries.filter((e) => localDay(e.recordedAt).startsWith(month));
  if (mine.length === 0) return null;
  const count = <T extends string>(values: T[]) => {
    const counts = new Map<T, number>();
    values.forEach((v) => counts.set(v, (counts.get(v) ?? 0) + 1));
    return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  };
  const quadrantOfWord = new Map(words.map((w) => [w.word, w.quadrant]));
  const moods = count(mine.map((e) => e.moodType)).slice(0, 5);
  const quadrants = count(mine.map((e) => quadrantOfWord.get(e.moodType) ?? "")).filter(([q]) => q);
  const name = new Date().toLocaleDateString(undefined, { month: "long" });
  return (
    <div class="card month" data-testid="month-summary">
      <p>
        <strong>{name}:</strong> {checkIns(mine.length)}. Most often {moods.map(([m, n]) => `${m} (${n})`).join(", ")}.
      </p>
      <p class="muted small">{quadrants.map(([q, n]) => `${QUADRANT_SHORT[q] ?? q} ${n}`).join(" · ")}</p>
    </div>
  );
}

export function HistoryScreen() {
  const words = useVocabulary();
  const [aggregation, setAggregation] = useState<Exclude<Aggregation, "NONE">>("DAY");
  const [series, setSeries] = useState<MoodSeries | null>(null);
  const [year, setYear] = useState<MoodSeries | null>(null);
  const [entries, setEntries] = useState<MoodEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const [shown, setShown] = useState(15);

  const [keptAt, setKeptAt] = useState<string | null>(null);
  const [filter, setFilter] = useState<Filter>(NO_FILTER);
  const listed = (entries ?? []).filter((e) => matches(e, filter));
  const failed = (e: unknown) => setError(describe(e));
  const kept = (at: string | null) => {
    if (at !== null) setKeptAt(at);
  };

  useEffect(() => {
    setError(null);
    const [days] = SPAN[aggregation];
    gqlKept<{ moodHistory: { series: MoodSeries } }>(`series-${aggregation}`, HISTORY, { ...range(days), agg: aggregation, tz: timeZone() })
      .then(({ data, keptAt: at }) => {
        setSeries(data.moodHistory.series);
        kept(at);
      })
      .catch(failed);
  }, [aggregation, version]);

  useEffect(() => {
    gqlKept<{ moodHistory: { series: MoodSeries } }>("year", HISTORY, { ...range(366), agg: "DAY", tz: timeZone() })
      .then(({ data, keptAt: at }) => {
        setYear(data.moodHistory.series);
        kept(at);
      })
      .catch(failed);
    gqlKept<{ moodHistory: { entries: MoodEntry[] } }>(
      "entries",
      `query($from: DateTime!, $to: DateTime!) { moodHistory(from: $from, to: $to) { entries { ${ENTRY} } } }`,
      range(90),
    )
      .then(({ data, keptAt: at }) => {
        setEntries([...data.moodHistory.entries].sort((a, b) => b.recordedAt.localeCompare(a.recordedAt)));
        kept(at);
      })
      .catch(failed);
  }, [version]);

  const [notice, setNotice] = useState<string | null>(null);
  const changed = (what: "edited" | "deleted") => {
    setNotice(what === "deleted" ? "Deleted." : "Saved.");
    setVersion((v) => v + 1);
  };
  return (
    <>
      <h1>Your history</h1>
      {keptAt !== null && (
        <p class="notice" role="status" data-testid="history-kept">
          You're offline: this is your history as of {new Date(keptAt).toLocaleString()}, kept on this device.
        </p>
      )}
      <ErrorText error={error} />
      <section aria-labelledby="chart-title">
        <div class="row spread">
          <h2 id="chart-title">How you felt over time</h2>
          <div class="segmented" role="group" aria-label="Group by">
            {(Object.keys(SPAN) as (keyof typeof SPAN)[]).map((agg) => (
              <button key={agg} type="button" aria-pressed={agg === aggregation} onClick={() => setAggregation(agg)}>
                {agg === "DAY" ? "Days" : agg === "WEEK" ? "Weeks" : "Months"}
              </button>
            ))}
          </div>
        </div>
        <p class="muted small">{SPAN[aggregation][1]}</p>
        {series === null ? (
          <p class="muted">{error ? "Not available right now." : "Loading…"}</p>
        ) : series.starts.length === 0 ? (
          <Empty>No check-ins in this period yet. Your first one will start the chart.</Empty>
        ) : (
          <Chart series={series} aggregation={aggregation} days={SPAN[aggregation][0]} />
        )}
      </section>
      <section aria-labelledby="pixels-title">
        <h2 id="pixels-title">Year in pixels</h2>
        <p class="muted small">Each day coloured by its mood: red tense, yellow bright, blue low, green calm.</p>
        {year === null && error ? (
          <p class="muted">Not available right now.</p>
        ) : (
          <YearInPixels
            series={year}
            words={words}
            onDay={(day) => {
              setFilter({ ...NO_FILTER, day });
              document.getElementById("entries-title")?.scrollIntoView({ behavior: "smooth" });
            }}
          />
        )}
      </section>
      <section aria-labelledby="entries-title">
        <h2 id="entries-title">Entries (last 90 days)</h2>
        {notice && (
          <p class="success" role="status" data-testid="entries-notice">
            {notice}
          </p>
        )}
        {entries !== null && entries.length > 0 && <MonthSummary entries={entries} words={words} />}
        {entries !== null && entries.length > 0 && <Filters entries={entries} filter={filter} onChange={setFilter} />}
        {entries === null ? (
          <p class="muted">{error ? "Not available right now." : "Loading…"}</p>
        ) : entries.length === 0 ? (
          <Empty>No entries yet. Check in from the first tab; it takes a few seconds.</Empty>
        ) : listed.length === 0 ? (
          <Empty>No entry matches{filter.day ? ` on ${filter.day} (entries older than 90 days are not listed here)` : ""}.</Empty>
        ) : (
          <ul class="entries" data-testid="my-entries">
            {listed.slice(0, shown).map((e) => (
              <MoodCard key={e.id} entry={e} words={words} onChanged={changed} />
            ))}
          </ul>
        )}
        {listed.length > shown && (
          <button type="button" class="more" onClick={() => setShown(shown + 30)}>
            Show more ({listed.length - shown} older)
          </button>
        )}
      </section>
    </>
  );
}
