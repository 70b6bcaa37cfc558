// Check in: a mood word from the energy × pleasantness grid, how strongly, and optional details.

import { useEffect, useId, useState } from "preact/hooks";
import type { ComponentType } from "preact";
import { ApiError, describe, gql, gqlKept, NetworkError } from "../api";
import { changes, friendMoods } from "../live";
import {
  ENTRY,
  PRIVACY_LABEL,
  QUADRANT_COLOUR,
  QUADRANT_LABEL,
  type MoodEntry,
  type MoodWord,
  type Privacy,
} from "../model";
import { HELD_BY_THE_EDGE, keep } from "../outbox";
import { uploadPhoto } from "../photos";
import { account } from "../session";
import { signal, useSignal } from "../signal";
import { Empty, ErrorText } from "./common";
import { ContextFields, contextInput, MAX_NOTE, NO_CONTEXT, recordedAt, type ContextValues } from "./context";
import { MoodCard } from "./entries";

const VOCABULARY_KEY = "hugmood.vocabulary";
const QUADRANTS = ["high-energy-unpleasant", "high-energy-pleasant", "low-energy-unpleasant", "low-energy-pleasant"];

function cachedVocabulary(): MoodWord[] {
  try {
    const raw = localStorage.getItem(VOCABULARY_KEY);
    return raw ? (JSON.parse(raw) as MoodWord[]) : [];
  } catch {
    return [];
  }
}

const vocabulary = signal<MoodWord[]>(cachedVocabulary());
let vocabularyAsked = false;

/** The mood words, from the server once and then from this browser (so check-ins work offline). */
export function useVocabulary(): MoodWord[] {
  useEffect(() => {
    if (vocabularyAsked) return;
    vocabularyAsked = true;
    gql<{ moodVocabulary: MoodWord[] }>("{ moodVocabulary { word energy pleasantness quadrant } }")
      .then((data) => {
        localStorage.setItem(VOCABULARY_KEY, JSON.stringify(data.moodVocabulary));
        vocabulary.value = data.moodVocabulary;
      })
      .catch(() => {
        vocabularyAsked = false;
      });
  }, []);
  return useSignal(vocabulary);
}

export function MoodPicker({ words, value, onPick }: { words: MoodWord[]; value: string; onPick: (word: string) => void }) {
  return (
    <div class="picker" role="radiogroup" aria-label="How do you feel?">
      {QUADRANTS.map((quadrant) => (
        <fieldset key={quadrant} class="quadrant" style={{ background: QUADRANT_COLOUR[quadrant] }}>
          <legend>{QUADRANT_LABEL[quadrant]}</legend>
          {words
            .filter((w) => w.quadrant === quadrant)
            .sort((a, b) => b.energy - a.energy || a.pleasantness - b.pleasantness)
            .map((w) => (
              <label key={w.word} class={`chip${value === w.word ? " chosen" : ""}`}>
                <input type="radio" name="mood" value={w.word} checked={value === w.word} onChange={() => onPick(w.word)} />
                {w.word}
              </label>
            ))}
        </fieldset>
      ))}
    </div>
  );
}

/** How strongly, 0–100 %: a slider whose label and read-out are tied to it. */
export function Intensity({ value, onChange }: { value: number; onChange: (v: number) => void }) {
  const id = useId();
  return (
    <div class="intensity">
      <label for={id}>How strongly?</label> <output for={id}>{value}%</output>
      <input id={id} type="range" name="intensity" min={0} max={100} step={5} value={value} aria-valuetext={`${value}%`} onInput={(e) => onChange(Number(e.currentTarget.value))} />
    </div>
  );
}

export function PrivacyChoice({
  value,
  onChange,
  name,
  legend = "Who can see it",
}: {
  value: Privacy;
  onChange: (p: Privacy) => void;
  name: string;
  legend?: string;
}) {
  return (
    <fieldset class="segmented-radio">
      <legend>{legend}</legend>
      {(Object.keys(PRIVACY_LABEL) as Privacy[]).map((p) => (
        <label key={p} class={value === p ? "chosen" : ""}>
          <input type="radio" name={name} value={p} checked={value === p} onChange={() => onChange(p)} />
          {PRIVACY_LABEL[p]}
        </label>
      ))}
    </fieldset>
  );
}

function FriendsFeed({ words }: { words: MoodWord[] }) {
  const live = useSignal(friendMoods);
  const tick = useSignal(changes);
  const [feed, setFeed] = useState<MoodEntry[] | null>(null);
  const [keptAt, setKeptAt] = useState<string | null>(null);
  useEffect(() => {
    // Kept on the device, so what friends shared can be read offline too.
    gqlKept<{ friendsFeed: MoodEntry[] }>("friends-feed", `{ friendsFeed(limit: 10) { ${ENTRY} } }`)
      .then(({ data, keptAt: at }) => {
        setFeed(data.friendsFeed);
        setKeptAt(at);
      })
      .catch(() => setFeed((current) => current ?? []));
  }, [tick]);
  const seen = new Set<string>();
  const entries = [...live, ...(feed ?? [])].filter((e) => !seen.has(e.id) && seen.add(e.id));
  return (
    <section aria-labelledby="feed-title" class="feed">
      <h2 id="feed-title">What friends shared</h2>
      {keptAt !== null && (
        <p class="muted small" data-testid="feed-kept">
          You're offline: as of {new Date(keptAt).toLocaleString()}.
        </p>
      )}
      {feed === null ? (
        <p class="muted">Loading…</p>
      ) : entries.length === 0 ? (
        <Empty>Nothing from friends yet. When a friend checks in and shares it with you, it shows up here.</Empty>
      ) : (
        <ul class="entries" data-testid="friends-feed">
          {entries.slice(0, 10).map((e) => (
            <MoodCard key={e.id} entry={e} words={words} showAuthor />
          ))}
        </ul>
      )}
    </section>
  );
}

type Offer = ComponentType<{ gentle: boolean; onClose: () => void }>;

/** A very low moment (very unpleasant, felt strongly): gently offer something to do. */
function veryLow(word: MoodWord | undefined, intensity: number): boolean {
  return word !== undefined && word.pleasantness <= -0.6 && intensity >= 70;
}

export function CheckInScreen() {
  const words = useVocabulary();
  const me = useSignal(account);
  const [mood, setMood] = useState("");
  const [intensity, setIntensity] = useState(50);
  const [note, setNote] = useState("");
  const [context, setContext] = useState<ContextValues>(NO_CONTEXT);
  const [privacy, setPrivacy] = useState<Privacy | null>(null);
  const [photo, setPhoto] = useState<File | null>(null);
  const [photoField, setPhotoField] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // The exercises load only when offered or asked for (the check-in screen stays small).
  const [offer, setOffer] = useState<{ view: Offer; gentle: boolean } | null>(null);
  const showOffer = (gentle: boolean) =>
    void import("./calm").then(({ WhenItsHard }) => setOffer({ view: WhenItsHard, gentle })).catch(() => undefined);
  const chosenPrivacy: Privacy = privacy ?? me?.defaultVisibility ?? "FRIENDS_ONLY";

  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    setDone(null);
    if (!mood) {
      setError("Pick the word closest to how you feel.");
      return;
    }
    const input = {
      id: crypto.randomUUID(),
      moodType: mood,
      intensity: intensity / 100,
      note: note.trim() || null,
      contextFactors: contextInput(context),
      privacy: chosenPrivacy,
      recordedAt: recordedAt(context),
    };
    const reset = () => {
      setMood("");
      setIntensity(50);
      setNote("");
      setContext(NO_CONTEXT);
      setPrivacy(null);
      setPhoto(null);
      setPhotoField((n) => n + 1);
    };
    setBusy(true);
    try {
      if (!navigator.onLine) throw new NetworkError();
      await gql("mutation($input: RecordMoodInput!) { recordMood(input: $input) { id } }", { input });
      if (photo) {
        try {
          await uploadPhoto(input.id, photo);
        } catch (e) {
          setDone(`Checked in: ${mood}, without the photo.`);
          setError(describe(e));
          reset();
          return;
        }
      }
      setDone(`Checked in: ${mood}${photo ? " with a photo" : ""}. Thank you for noticing how you feel.`);
      if (veryLow(words.find((w) => w.word === mood), intensity)) showOffer(true);
      reset();
    } catch (e) {
      if (e instanceof NetworkError || (e instanceof ApiError && e.code === "READ_ONLY")) {
        await keep(input);
        const when = e instanceof ApiError ? "HugMood's storage is back" : "you're back online";
        setDone(`Saved on this device: ${mood}. It will be sent when ${when}.`);
        reset();
      } else if (e instanceof ApiError && e.code === HELD_BY_THE_EDGE) {
        const without = photo ? " (without the photo: add it once it's back)" : "";
        setDone(`Checked in: ${mood}${without}. HugMood's storage is away for a moment; your check-in is kept safely and saved as soon as it's back.`);
        reset();
      } else {
        setError(describe(e));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <h1>How are you feeling{me ? `, ${me.displayName}` : ""}?</h1>
      <form class="checkin" onSubmit={submit} aria-label="Check in" data-ready={words.length > 0 ? "true" : undefined}>
        {words.length === 0 ? <p class="muted">Loading the mood words…</p> : <MoodPicker words={words} value={mood} onPick={setMood} />}
        <Intensity value={intensity} onChange={setIntensity} />
        <label>
          <span>
            Note <span class="muted">(optional)</span>
          </span>
          <textarea name="note" rows={2} maxLength={MAX_NOTE} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
        </label>
        <details class="context">
          <summary>Add context (when, where, weather, who with, tags)</summary>
          <ContextFields values={context} onChange={setContext} idPrefix="checkin" />
        </details>
        <PrivacyChoice value={chosenPrivacy} onChange={setPrivacy} name="privacy" />
        <label>
          <span>
            Photo <span class="muted">(optional; seen by whoever sees this check-in; needs a connection)</span>
          </span>
          <input
            key={photoField}
            type="file"
            name="photo"
            accept="image/png,image/jpeg,image/gif,image/webp"
            onChange={(e) => setPhoto(e.currentTarget.files?.[0] ?? null)}
          />
        </label>
        <ErrorText error={error} />
        {done && <p class="success" role="status">{done}</p>}
        <button class="primary" type="submit" disabled={busy}>
          {busy ? "Saving…" : "Check in"}
        </button>
      </form>
      {offer ? (
        <offer.view gentle={offer.gentle} onClose={() => setOffer(null)} />
      ) : (
        <p class="small">
          <button type="button" class="calm-link" onClick={() => showOffer(false)}>
            Something to do when it's hard
          </button>
        </p>
      )}
      <FriendsFeed words={words} />
    </>
  );
}
