// Insights: what your own check-ins say about you, each with the numbers behind it and a small
// chart, to mark helpful or dismiss; then similar minds and how your region felt this week.

import { useEffect, useState } from "preact/hooks";
import { describe, gql, gqlKept } from "../api";
import { INSIGHT, numbersLine, parseNumbers, pictureOf, plain, signed, topic, type Insight, type Picture } from "../insights";
import { go } from "../router";
import { ErrorText } from "./common";
import { CommunityMood, SimilarMinds } from "./minds";
import "./insights.css";

const INSIGHTS = `query { insights(limit: 20) { ${INSIGHT} } }`;

/** The room a chart's scale needs: the largest value rounded up to a quarter, at most `cap`. */
function reach(values: number[], cap: number): number {
  const largest = Math.max(...values.map(Math.abs), 0.25);
  return Math.min(cap, Math.ceil(largest * 4) / 4);
}

const W = 300;
const LEFT = 8;
const RIGHT = 292;

function Ticks({ m, y, from, scale }: { m: number; y: number; from: number; scale: (v: number) => number }) {
  return (
    <g class="ticks">
      <line x1={from} x2={RIGHT} y1={y} y2={y} class="axis" />
      {[-m, 0, m].map((v) => (
        <text key={v} x={scale(v)} y={y + 14} text-anchor={v === -m ? "start" : v === m ? "end" : "middle"}>
          {v === 0 ? "0" : signed(v)}
        </text>
      ))}
    </g>
  );
}

/** A difference as a bar from zero, with its interval as a whisker across it. */
function EffectChart({ difference, low, high }: { difference: number; low: number; high: number }) {
  const m = reach([difference, low, high], 2);
  const x = (v: number) => LEFT + ((v + m) / (2 * m)) * (RIGHT - LEFT);
  const [from, to] = [Math.min(x(0), x(difference)), Math.max(x(0), x(difference))];
  const label =
    `Difference ${signed(difference)}, interval ${plain(low)} to ${plain(high)}, ` +
    `on a scale from ${signed(-m)} to ${signed(m)} around no difference.`;
  return (
    <div class="insight-chart" role="img" aria-label={label} data-testid="insight-chart">
      <svg viewBox={`0 0 ${W} 58`} aria-hidden="true" focusable="false">
        <rect x={from} y={10} width={Math.max(1, to - from)} height={18} rx={3} class={difference >= 0 ? "bar up" : "bar down"} />
        <line x1={x(0)} x2={x(0)} y1={2} y2={38} class="zero" />
        <line x1={x(low)} x2={x(high)} y1={19} y2={19} class="whisker" />
        <line x1={x(low)} x2={x(low)} y1={12} y2={26} class="whisker" />
        <line x1={x(high)} x2={x(high)} y1={12} y2={26} class="whisker" />
        <Ticks m={m} y={40} from={LEFT} scale={x} />
      </svg>
    </div>
  );
}

/** The best and the worst group's means, each a bar from zero. */
function PatternChart({ best, worst, bestMean, worstMean }: { best: string; worst: string; bestMean: number; worstMean: number }) {
  const m = reach([bestMean, worstMean], 1);
  const labelWidth = 110;
  const x = (v: number) => labelWidth + ((v + m) / (2 * m)) * (RIGHT - labelWidth);
  const row = (name: string, mean: number, y: number, kind: string) => {
    const [from, to] = [Math.min(x(0), x(mean)), Math.max(x(0), x(mean))];
    return (
      <g key={name}>
        <text x={LEFT} y={y + 12}>
          {name}
        </text>
        <rect x={from} y={y} width={Math.max(1, to - from)} height={16} rx={3} class={`bar ${kind}`} />
      </g>
    );
  };
  return (
    <div class="insight-chart" role="img" aria-label={`Mean ${best} ${signed(bestMean)}, ${worst} ${signed(worstMean)}, on a scale from ${signed(-m)} to ${signed(m)}.`} data-testid="insight-chart">
      <svg viewBox={`0 0 ${W} 74`} aria-hidden="true" focusable="false">
        {row(best, bestMean, 4, "up")}
        {row(worst, worstMean, 26, "down")}
        <line x1={x(0)} x2={x(0)} y1={0} y2={46} class="zero" />
        <Ticks m={m} y={48} from={labelWidth} scale={x} />
      </svg>
    </div>
  );
}

function Chart({ picture }: { picture: Picture }) {
  return picture.type === "effect" ? <EffectChart {...picture} /> : <PatternChart {...picture} />;
}

function InsightCard({ insight, onChanged }: { insight: Insight; onChanged: (list: Insight[], message: string) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const numbers = parseNumbers(insight.numbers);
  const line = numbersLine(insight.kind, numbers);
  const picture = pictureOf(insight.kind, numbers);
  async function answer(mutation: "markInsightHelpful" | "dismissInsight") {
    setBusy(true);
    setError(null);
    try {
      const data = await gql<Record<string, Insight[]>>(`mutation($id: ID!) { ${mutation}(id: $id) { ${INSIGHT} } }`, { id: insight.id });
      onChanged(data[mutation] ?? [], mutation === "dismissInsight" ? "Dismissed: you won't see that one again." : "Thanks: marked as helpful.");
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <li class="card insight" data-kind={insight.kind} data-testid="insight">
      <p class="muted small insight-topic">{topic(insight.kind, numbers)}</p>
      <p class="insight-sentence">{insight.sentence}</p>
      {line && (
        <p class="small insight-numbers" data-testid="insight-numbers">
          {line}
        </p>
      )}
      {picture && <Chart picture={picture} />}
      <div class="row wrap">
        <button type="button" aria-pressed={insight.helpful} disabled={busy || insight.helpful} onClick={() => void answer("markInsightHelpful")}>
          {insight.helpful ? "Helpful ✓" : "Helpful"}
        </button>
        <button type="button" disabled={busy} onClick={() => void answer("dismissInsight")}>
          Dismiss
        </button>
      </div>
      <ErrorText error={error} />
    </li>
  );
}

function NothingYet() {
  return (
    <div class="empty insight-empty" data-testid="insights-empty">
      <p>Nothing to tell you yet. Insights come from your own check-ins once there is enough of them:</p>
      <ul>
        <li>a factor (a place, the weather, who you were with, a tag) needs at least 3 days with it and 3 days without it;</li>
        <li>patterns by day of the week or time of day need a few weeks of check-ins;</li>
        <li>a trend needs four weeks: the last two are compared with the two before.</li>
      </ul>
      <p>Only differences bigger than chance are said. Your notes are never read for this.</p>
      <button type="button" class="primary" onClick={() => go("/checkin")}>
        Check in
      </button>
    </div>
  );
}

export function InsightsScreen() {
  const [insights, setInsights] = useState<Insight[] | null>(null);
  const [keptAt, setKeptAt] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  useEffect(() => {
    gqlKept<{ insights: Insight[] }>("insights", INSIGHTS)
      .then(({ data, keptAt: at }) => {
        setInsights(data.insights);
        setKeptAt(at);
      })
      .catch((e) => setError(describe(e)));
  }, []);
  return (
    <>
      <h1>Insights</h1>
      <section aria-labelledby="insights-title">
        <h2 id="insights-title">What your check-ins say</h2>
        <p class="muted small">
          Differences on a scale of −1 to 1 (pleasantness or energy), with the range the true difference most likely lies
          in. Only you see these.
        </p>
        <ErrorText error={error} />
        {keptAt && <p class="notice small">Offline: showing what was kept on this device.</p>}
        {message && (
          <p class="success" role="status">
            {message}
          </p>
        )}
        {insights === null ? (
          !error && <p class="muted">Loading…</p>
        ) : insights.length === 0 ? (
          <NothingYet />
        ) : (
          <ul class="insights" data-testid="insights">
            {insights.map((insight) => (
              <InsightCard
                key={insight.id}
                insight={insight}
                onChanged={(list, text) => {
                  setInsights(list);
                  setMessage(text);
                }}
              />
            ))}
          </ul>
        )}
      </section>
      <SimilarMinds />
      <CommunityMood />
    </>
  );
}
