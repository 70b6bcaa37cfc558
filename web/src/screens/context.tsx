// When and where a check-in happened: the same fields when checking in and when editing one.

import { useEffect, useState } from "preact/hooks";
import { gql } from "../api";
import { SOCIAL, WEATHER, type MoodEntry } from "../model";

export const MAX_NOTE = 2000; // as the API allows (docs/schema.graphql)
const MAX_LOCATION = 80;

export interface ContextValues {
  /** `YYYY-MM-DDTHH:mm` in local time, as a datetime-local input holds it; "" for now. */
  when: string;
  location: string;
  weather: string;
  social: string;
  tags: string[];
}

export const NO_CONTEXT: ContextValues = { when: "", location: "", weather: "", social: "", tags: [] };
const MAX_TAGS = 10;

/** A moment as a datetime-local input shows it (local time, to the minute). */
export function localInputValue(moment: Date): string {
  const local = new Date(moment.getTime() - moment.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

export function contextOf(entry: MoodEntry): ContextValues {
  const c = entry.contextFactors;
  return {
    when: localInputValue(new Date(entry.recordedAt)),
    location: c.location ?? "",
    weather: c.weather ?? "",
    social: c.socialContext ?? "",
    tags: [...c.tags],
  };
}

/** The API's `contextFactors` for these values. */
export function contextInput(values: ContextValues) {
  return {
    location: values.location.trim() || null,
    weather: values.weather || null,
    socialContext: values.social || null,
    tags: values.tags,
  };
}

/** The ISO time for `recordedAt`: the chosen moment, or now. */
export function recordedAt(values: ContextValues): string {
  return values.when ? new Date(values.when).toISOString() : new Date().toISOString();
}

let suggestions: Promise<string[]> | null = null;

/** Your own most used tags of the last 90 days, most used first (asked once per page). */
function useTagSuggestions(): string[] {
  const [tags, setTags] = useState<string[]>([]);
  useEffect(() => {
    suggestions ??= gql<{ moodHistory: { entries: { contextFactors: { tags: string[] } }[] } }>(
      "query($from: DateTime!, $to: DateTime!) { moodHistory(from: $from, to: $to) { entries { contextFactors { tags } } } }",
      { from: new Date(Date.now() - 90 * 86_400_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() },
    )
      .then((data) => {
        const counts = new Map<string, number>();
        data.moodHistory.entries.forEach((e) => e.contextFactors.tags.forEach((t) => counts.set(t, (counts.get(t) ?? 0) + 1)));
        return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([t]) => t).slice(0, 12);
      })
      .catch(() => {
        suggestions = null;
        return [];
      });
    void suggestions.then(setTags);
  }, []);
  return tags;
}

/** Tags as chips: type one and press Enter (or a comma), tap a suggestion, ✕ removes one. */
function TagChips({ tags, onChange, idPrefix }: { tags: string[]; onChange: (tags: string[]) => void; idPrefix: string }) {
  const [typed, setTyped] = useState("");
  const suggested = useTagSuggestions().filter((t) => !tags.includes(t));
  const add = (raw: string) => {
    const tag = raw.trim().toLowerCase().slice(0, 32);
    if (tag && !tags.includes(tag) && tags.length < MAX_TAGS) onChange([...tags, tag]);
    setTyped("");
  };
  return (
    <div class="tags-field">
      <label>
        Tags
        <input
          name={`${idPrefix}-tags`}
          value={typed}
          maxLength={33}
          placeholder={tags.length < MAX_TAGS ? "type a tag, then Enter" : "10 tags at most"}
          onInput={(e) => {
            const value = e.currentTarget.value;
            if (value.endsWith(",")) add(value.slice(0, -1));
            else setTyped(value);
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter" && typed.trim()) {
              e.preventDefault();
              add(typed);
            } else if (e.key === "Backspace" && !typed && tags.length) {
              onChange(tags.slice(0, -1));
            }
          }}
          onBlur={() => typed.trim() && add(typed)}
        />
      </label>
      {tags.length > 0 && (
        <ul class="tag-chips" aria-label="Chosen for this check-in">
          {tags.map((t) => (
            <li key={t}>
              <span class="tag-chip">
                {t}
                <button type="button" aria-label={`Remove tag ${t}`} onClick={() => onChange(tags.filter((x) => x !== t))}>
                  ✕
                </button>
              </span>
            </li>
          ))}
        </ul>
      )}
      {suggested.length > 0 && tags.length < MAX_TAGS && (
        <div class="tag-suggestions" role="group" aria-label="Suggested from your history">
          {suggested.map((t) => (
            <button key={t} type="button" class="tag-suggestion" onClick={() => add(t)} aria-label={`Add tag ${t}`}>
              + {t}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

export function ContextFields({ values, onChange, idPrefix }: { values: ContextValues; onChange: (v: ContextValues) => void; idPrefix: string }) {
  const set = (field: Exclude<keyof ContextValues, "tags">) => (e: { currentTarget: { value: string } }) =>
    onChange({ ...values, [field]: e.currentTarget.value });
  return (
    <div class="grid2">
      <label>
        <span>
          When <span class="muted">(leave empty for now)</span>
        </span>
        <input type="datetime-local" name={`${idPrefix}-when`} value={values.when} max={localInputValue(new Date())} onInput={set("when")} />
      </label>
      <label>
        Where
        <input name={`${idPrefix}-location`} value={values.location} maxLength={MAX_LOCATION} onInput={set("location")} />
      </label>
      <label>
        Weather
        <select name={`${idPrefix}-weather`} value={values.weather} onChange={set("weather")}>
          <option value="">—</option>
          {WEATHER.map((w) => <option key={w} value={w}>{w}</option>)}
        </select>
      </label>
      <label>
        With
        <select name={`${idPrefix}-socialContext`} value={values.social} onChange={set("social")}>
          <option value="">—</option>
          {SOCIAL.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
      </label>
      <TagChips tags={values.tags} onChange={(tags) => onChange({ ...values, tags })} idPrefix={idPrefix} />
    </div>
  );
}
