// Insights as the app shows them: the numbers behind a sentence in words, and where its chart
// comes from. The server sends the numbers as a JSON object (docs/schema.graphql, Insight).

export interface Insight {
  id: string;
  kind: string;
  sentence: string;
  numbers: string;
  generatedAt: string;
  helpful: boolean;
}

export const INSIGHT = "id kind sentence numbers generatedAt helpful";

export type Numbers = Record<string, unknown>;

/** What a chart of one insight shows: an effect with its interval, or a best and a worst mean. */
export type Picture =
  | { type: "effect"; difference: number; low: number; high: number }
  | { type: "pattern"; best: string; worst: string; bestMean: number; worstMean: number };

export function parseNumbers(numbers: string): Numbers {
  try {
    const value: unknown = JSON.parse(numbers);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Numbers) : {};
  } catch {
    return {};
  }
}

function num(n: Numbers, key: string): number | null {
  const value = n[key];
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function text(n: Numbers, key: string): string | null {
  const value = n[key];
  return typeof value === "string" ? value : null;
}

/** `+0.20`, `−0.15`: a difference, with its sign always shown. */
export function signed(value: number): string {
  const rounded = Math.abs(value).toFixed(2);
  if (rounded === "0.00") return "0.00";
  return `${value > 0 ? "+" : "−"}${rounded}`;
}

/** `0.05`, `−0.10`: a bound, signed only when negative. */
export function plain(value: number): string {
  const rounded = Math.abs(value).toFixed(2);
  return value < 0 && rounded !== "0.00" ? `−${rounded}` : rounded;
}

function level(confidence: number | null): string {
  if (confidence === null) return "interval";
  const percent = Math.round(confidence * 1000) / 10;
  return `${percent}% interval`;
}

function count(n: number | null, one: string, many: string): string {
  return n === null ? "" : `${n} ${n === 1 ? one : many}`;
}

function capitalised(words: string): string {
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** What the insight is about, for its card's small heading. */
export function topic(kind: string, n: Numbers): string {
  const measure = text(n, "measure");
  const lag = text(n, "lag");
  const what = { factor: "Something that goes with your days", weekday: "Days of the week", time_of_day: "Times of day", trend: "Lately" }[kind];
  const detail = [measure, lag === "next-day" ? "the next day" : lag === "same-day" ? "the same day" : null].filter(Boolean).join(", ");
  return [what ?? capitalised(kind.replace(/_/g, " ")), detail].filter(Boolean).join(" · ");
}

/** The numbers behind the sentence in one line, e.g.
 * "+0.20 (95% interval 0.05 to 0.35), 14 days with, 16 without"; null if there are none. */
export function numbersLine(kind: string, n: Numbers): string | null {
  const difference = num(n, "difference");
  const low = num(n, "low");
  const high = num(n, "high");
  if ((kind === "factor" || kind === "trend") && difference !== null && low !== null && high !== null) {
    const effect = `${signed(difference)} (${level(num(n, "confidence"))} ${plain(low)} to ${plain(high)})`;
    if (kind === "factor") {
      const withDays = num(n, "daysWith");
      const withoutDays = num(n, "daysWithout");
      if (withDays === null || withoutDays === null) return effect;
      return `${effect}, ${count(withDays, "day", "days")} with, ${withoutDays} without`;
    }
    const recent = num(n, "recentDays");
    const earlier = num(n, "earlierDays");
    if (recent === null || earlier === null) return effect;
    return `${effect}, ${count(recent, "day", "days")} in the last two weeks against ${earlier} in the two before`;
  }
  const best = text(n, "best");
  const worst = text(n, "worst");
  const bestMean = num(n, "bestMean");
  const worstMean = num(n, "worstMean");
  if (best !== null && worst !== null && bestMean !== null && worstMean !== null) {
    const [one, many] = kind === "weekday" ? ["day", "days"] : ["check-in", "check-ins"];
    const counted = (name: string) => {
      const c = num(n, `n:${name}`);
      return c === null ? "" : ` (${count(c, one, many)})`;
    };
    return `${capitalised(best)} ${signed(bestMean)}${counted(best)}, ${worst} ${signed(worstMean)}${counted(worst)}`;
  }
  return null;
}

export function pictureOf(kind: string, n: Numbers): Picture | null {
  const difference = num(n, "difference");
  const low = num(n, "low");
  const high = num(n, "high");
  if ((kind === "factor" || kind === "trend") && difference !== null && low !== null && high !== null) {
    return { type: "effect", difference, low, high };
  }
  const best = text(n, "best");
  const worst = text(n, "worst");
  const bestMean = num(n, "bestMean");
  const worstMean = num(n, "worstMean");
  if (best !== null && worst !== null && bestMean !== null && worstMean !== null) {
    return { type: "pattern", best, worst, bestMean, worstMean };
  }
  return null;
}

/** The current ISO week in UTC (e.g. `2026-W49`), as `communityMood` takes it. */
export function isoWeek(now: Date = new Date()): string {
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday); // the Thursday of this week names its year
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
}
