// When and where a check-in happened: the same fields when checking in and when editing one.

import { SOCIAL, WEATHER, type MoodEntry } from "../model";

export const MAX_NOTE = 2000; // as the API allows (docs/schema.graphql)
const MAX_LOCATION = 80;

export interface ContextValues {
  /** `YYYY-MM-DDTHH:mm` in local time, as a datetime-local input holds it; "" for now. */
  when: string;
  location: string;
  weather: string;
  social: string;
  tags: string;
}

export const NO_CONTEXT: ContextValues = { when: "", location: "", weather: "", social: "", tags: "" };

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
    tags: c.tags.join(", "),
  };
}

/** The API's `contextFactors` for these values. */
export function contextInput(values: ContextValues) {
  return {
    location: values.location.trim() || null,
    weather: values.weather || null,
    socialContext: values.social || null,
    tags: values.tags.split(",").map((t) => t.trim()).filter(Boolean),
  };
}

/** The ISO time for `recordedAt`: the chosen moment, or now. */
export function recordedAt(values: ContextValues): string {
  return values.when ? new Date(values.when).toISOString() : new Date().toISOString();
}

export function ContextFields({ values, onChange, idPrefix }: { values: ContextValues; onChange: (v: ContextValues) => void; idPrefix: string }) {
  const set = (field: keyof ContextValues) => (e: { currentTarget: { value: string } }) =>
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
      <label>
        <span>
          Tags <span class="muted">(comma separated)</span>
        </span>
        <input name={`${idPrefix}-tags`} value={values.tags} onInput={set("tags")} />
      </label>
    </div>
  );
}
