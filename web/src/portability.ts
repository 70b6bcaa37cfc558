// HugMood's one export format (docs/export-format.md), shared with the CLI: export as JSON or
// CSV, and import a HugMood export (from this app or the CLI) into your account.

import { gql } from "./api";
import { ACCOUNT, ENTRY, HUG, PROFILE, type Account, type MoodEntry, type Privacy } from "./model";

export const FORMAT = "hugmood-export";

const EVERYTHING_ELSE = `{
  me { ${ACCOUNT} homeRegion }
  friends: connections(status: FRIENDS) { profile { ${PROFILE} } since }
  incoming: connections(status: INCOMING) { profile { ${PROFILE} } since }
  requested: connections(status: REQUESTED) { profile { ${PROFILE} } since }
  blocked: connections(status: BLOCKED) { profile { ${PROFILE} } since }
  inbox(limit: 100) { ${HUG} deliveredAt seenAt }
  sentHugs(limit: 100) { ${HUG} deliveredAt seenAt }
  hugSettings { acceptedTypes muted { handle } }
}`;
const ENTRIES = `query($from: DateTime!, $to: DateTime!) {
  moodHistory(from: $from, to: $to) {
    entries { ${ENTRY} createdAt updatedAt insights { sentiment emotions suggestedMood } }
  }
}`;
/** A history query may span at most three years: ask in windows of two. */
const WINDOW_MS = 2 * 365 * 86_400_000;

type ExportedEntry = MoodEntry & { createdAt: string; updatedAt: string; insights?: { sentiment: number; emotions?: string[]; suggestedMood?: string | null } | null };

/** `FRIENDS_ONLY` → `friends-only`: the format writes the domain's words. */
function privacyWord(privacy: Privacy): string {
  return privacy.toLowerCase().replace("_", "-");
}

async function allEntries(): Promise<ExportedEntry[]> {
  const entries: ExportedEntry[] = [];
  const end = Date.now() + 60_000;
  // Check-ins may be back-dated before the account existed (to 2000-01-01 at the earliest).
  for (let start = Date.parse("2000-01-01T00:00:00Z"); start < end; start += WINDOW_MS) {
    const page = await gql<{ moodHistory: { entries: ExportedEntry[] } }>(ENTRIES, {
      from: new Date(start).toISOString(),
      to: new Date(Math.min(start + WINDOW_MS, end)).toISOString(),
    });
    entries.push(...page.moodHistory.entries);
  }
  return entries.sort((a, b) => a.recordedAt.localeCompare(b.recordedAt));
}

/** Everything HugMood keeps about you, in the shared format (version 1). */
export async function exportJson(): Promise<string> {
  const rest = await gql<{ me: Account } & Record<string, unknown>>(EVERYTHING_ELSE);
  const { me, inbox, sentHugs, ...others } = rest;
  const entries = (await allEntries()).map((e) => ({
    id: e.id,
    recordedAt: e.recordedAt,
    moodType: e.moodType,
    intensity: e.intensity,
    note: e.note,
    contextFactors: e.contextFactors,
    privacy: privacyWord(e.privacy),
    insights: e.insights ?? null,
    origin: "server",
    status: "synced",
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  }));
  const document = { format: FORMAT, version: 1, exportedAt: new Date().toISOString(), account: me.handle, entries, profile: me, ...others, hugsReceived: inbox, hugsSent: sentHugs };
  return JSON.stringify(document, null, 2) + "\n";
}

const CSV_COLUMNS = ["id", "recorded_at", "mood_type", "intensity", "privacy", "note", "location", "weather", "social_context", "tags", "sentiment", "emotions", "suggested_mood", "origin", "status"];

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Your check-ins as CSV, the same columns as `hugmood export --format csv`. */
export async function exportCsv(): Promise<string> {
  const rows = (await allEntries()).map((e) => {
    const c = e.contextFactors;
    const i = e.insights;
    return [e.id, e.recordedAt, e.moodType, e.intensity, privacyWord(e.privacy), e.note, c.location, c.weather, c.socialContext, c.tags.join("|"), i?.sentiment, i?.emotions?.join("|"), i?.suggestedMood, "server", "synced"];
  });
  return [CSV_COLUMNS, ...rows].map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

export interface ImportReport {
  stored: number;
  already: number;
  refused: string[];
}

interface RawEntry {
  id?: unknown;
  recordedAt?: unknown;
  moodType?: unknown;
  intensity?: unknown;
  note?: unknown;
  contextFactors?: { location?: unknown; weather?: unknown; socialContext?: unknown; tags?: unknown } | null;
  privacy?: unknown;
  insights?: { sentiment?: unknown; emotions?: unknown; suggestedMood?: unknown } | null;
}

const text = (value: unknown): string | null => (typeof value === "string" && value ? value : null);

/** Read a HugMood export; throws an Error whose message says what is wrong with the file. */
export function readExport(content: string): RawEntry[] {
  let document: unknown;
  try {
    document = JSON.parse(content);
  } catch {
    throw new Error("That file is not JSON. Choose a HugMood export (a .json file).");
  }
  const d = document as { format?: unknown; version?: unknown; entries?: unknown; moodEntries?: unknown };
  if (d.format === FORMAT && d.version !== 1) throw new Error(`That export is version ${String(d.version).slice(0, 10)}; this HugMood reads version 1.`);
  // Exports made by this app before the shared format listed `moodEntries`.
  const entries = d.format === FORMAT ? d.entries : d.moodEntries;
  if (!Array.isArray(entries)) throw new Error(`That file is not a HugMood export (it has no "format": "${FORMAT}").`);
  return entries as RawEntry[];
}

/** Store the entries in your account (ids kept, so importing twice stores each once). Notes
 * go only if `withNotes`: a note kept on a device stays there unless you say otherwise. */
export async function importEntries(entries: RawEntry[], withNotes: boolean): Promise<ImportReport> {
  const inputs = entries.map((e) => {
    const c = e.contextFactors ?? {};
    const privacy = text(e.privacy);
    const sentiment = e.insights?.sentiment;
    return {
      id: e.id,
      moodType: e.moodType,
      intensity: e.intensity,
      note: withNotes ? text(e.note) : null,
      contextFactors: {
        location: text(c.location),
        weather: text(c.weather),
        socialContext: text(c.socialContext),
        tags: Array.isArray(c.tags) ? c.tags.filter((t): t is string => typeof t === "string") : [],
      },
      privacy: privacy ? privacy.toUpperCase().replace("-", "_") : null,
      recordedAt: e.recordedAt,
      insights:
        typeof sentiment === "number"
          ? { sentiment, emotions: Array.isArray(e.insights?.emotions) ? e.insights?.emotions : [], suggestedMood: text(e.insights?.suggestedMood) }
          : null,
    };
  });
  const report: ImportReport = { stored: 0, already: 0, refused: [] };
  for (let start = 0; start < inputs.length; start += 500) {
    const data = await gql<{ recordMoods: { id: string; status: string; message: string | null }[] }>(
      "mutation($entries: [RecordMoodInput!]!) { recordMoods(entries: $entries) { id status message } }",
      { entries: inputs.slice(start, start + 500) },
    );
    for (const result of data.recordMoods) {
      if (result.status === "STORED") report.stored += 1;
      else if (result.status === "DUPLICATE") report.already += 1;
      else report.refused.push(result.message ?? "refused");
    }
  }
  return report;
}
