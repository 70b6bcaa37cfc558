// One mood entry as a card; your own can be edited or deleted in place.

import { useEffect, useState } from "preact/hooks";
import { describe, gql } from "../api";
import { photoUrl } from "../photos";
import { ENTRY, PRIVACY_LABEL, QUADRANT_COLOUR, when, type MoodEntry, type MoodWord, type Privacy } from "../model";
import { ErrorText } from "./common";
import { Intensity, PrivacyChoice } from "./checkin";
import { ContextFields, contextInput, contextOf, MAX_NOTE, recordedAt, type ContextValues } from "./context";

/** A check-in's photo, fetched with the session and let go when the card goes. */
function Photo({ path }: { path: string }) {
  const [url, setUrl] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let made: string | null = null;
    let gone = false;
    photoUrl(path)
      .then((u) => {
        made = u;
        if (gone) URL.revokeObjectURL(u);
        else setUrl(u);
      })
      .catch(() => setFailed(true));
    return () => {
      gone = true;
      if (made) URL.revokeObjectURL(made);
    };
  }, [path]);
  if (failed) return <p class="muted small">The photo is not available right now.</p>;
  return url ? <img class="entry-photo" src={url} alt="The photo of this check-in" /> : null;
}

export function MoodCard({
  entry,
  showAuthor = false,
  words,
  onChanged,
}: {
  entry: MoodEntry;
  showAuthor?: boolean;
  words?: MoodWord[];
  onChanged?: (what: "edited" | "deleted") => void;
}) {
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const word = words?.find((w) => w.word === entry.moodType);
  const colour = word ? QUADRANT_COLOUR[word.quadrant] : "#ddd";
  const context = [entry.contextFactors.location, entry.contextFactors.weather, entry.contextFactors.socialContext, ...entry.contextFactors.tags]
    .filter(Boolean)
    .join(" · ");

  async function remove() {
    setError(null);
    try {
      await gql("mutation($id: ID!) { deleteMood(id: $id) }", { id: entry.id });
      onChanged?.("deleted");
    } catch (e) {
      setError(describe(e));
    }
  }

  if (editing && words) {
    return (
      <li class="entry">
        <EditForm entry={entry} words={words} onDone={(changed) => { setEditing(false); if (changed) onChanged?.("edited"); }} />
      </li>
    );
  }
  return (
    <li class="entry" data-entry-id={entry.id} data-mood={entry.moodType}>
      <span class="swatch" style={{ background: colour }} aria-hidden="true" />
      <div class="entry-body">
        <p class="entry-title">
          {showAuthor && <strong>{entry.author.displayName} </strong>}
          <span class="mood-word">{entry.moodType}</span>{" "}
          <span class="muted">{Math.round(entry.intensity * 100)}%</span>
        </p>
        {entry.note && <p class="note">{entry.note}</p>}
        {entry.photo && <Photo path={entry.photo} />}
        {entry.note === null && entry.insights && (
          <p class="muted small" data-testid="note-elsewhere">
            The note is kept on the device that wrote it (only what it found in the note was shared).
          </p>
        )}
        {context && <p class="muted small">{context}</p>}
        <p class="muted small">
          {when(entry.recordedAt)} · {PRIVACY_LABEL[entry.privacy]}
        </p>
        {onChanged && words && (
          <div class="row">
            <button type="button" onClick={() => setEditing(true)} aria-label={`Edit ${entry.moodType} from ${when(entry.recordedAt)}`}>
              Edit
            </button>
            {confirming ? (
              <>
                <button type="button" class="danger" onClick={remove}>
                  Yes, delete
                </button>
                <button type="button" onClick={() => setConfirming(false)}>
                  Keep it
                </button>
              </>
            ) : (
              <button type="button" onClick={() => setConfirming(true)} aria-label={`Delete ${entry.moodType} from ${when(entry.recordedAt)}`}>
                Delete
              </button>
            )}
          </div>
        )}
        <ErrorText error={error} />
      </div>
    </li>
  );
}

function EditForm({ entry, words, onDone }: { entry: MoodEntry; words: MoodWord[]; onDone: (changed: boolean) => void }) {
  const [mood, setMood] = useState(entry.moodType);
  const [intensity, setIntensity] = useState(Math.round(entry.intensity * 100));
  const [note, setNote] = useState(entry.note ?? "");
  const [privacy, setPrivacy] = useState<Privacy>(entry.privacy);
  const [initial] = useState<ContextValues>(() => contextOf(entry));
  const [context, setContext] = useState<ContextValues>(initial);
  const [error, setError] = useState<string | null>(null);

  async function save(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      await gql(`mutation($input: EditMoodInput!) { editMood(input: $input) { ${ENTRY} } }`, {
        input: {
          id: entry.id,
          moodType: mood,
          intensity: intensity / 100,
          ...(note.trim() ? { note: note.trim() } : { clearNote: entry.note !== null }),
          privacy,
          contextFactors: contextInput(context),
          // Shown to the minute: sent only when changed, so an edit keeps the exact moment.
          ...(context.when && context.when !== initial.when ? { recordedAt: recordedAt(context) } : {}),
        },
      });
      onDone(true);
    } catch (e) {
      setError(describe(e));
    }
  }

  return (
    <form class="edit" onSubmit={save} aria-label="Edit entry">
      <label>
        Mood
        <select name="moodType" value={mood} onChange={(e) => setMood(e.currentTarget.value)}>
          {words.map((w) => (
            <option key={w.word} value={w.word}>{w.word}</option>
          ))}
        </select>
      </label>
      <Intensity value={intensity} onChange={setIntensity} />
      <label>
        Note
        <textarea rows={2} maxLength={MAX_NOTE} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
      </label>
      <ContextFields values={context} onChange={setContext} idPrefix={`edit-${entry.id}`} />
      <PrivacyChoice value={privacy} onChange={setPrivacy} name={`privacy-${entry.id}`} />
      <ErrorText error={error} />
      <div class="row">
        <button class="primary" type="submit">Save changes</button>
        <button type="button" onClick={() => onDone(false)}>Cancel</button>
      </div>
    </form>
  );
}
