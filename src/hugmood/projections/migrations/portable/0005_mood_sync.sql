-- Local-first sync: insights derived on devices, and each user's change feed for downloads
-- (entries by the log position of their last change, deletes as tombstones).
ALTER TABLE rm_mood_entries ADD COLUMN insights TEXT;
ALTER TABLE rm_mood_entries ADD COLUMN changed_position BIGINT NOT NULL DEFAULT 0;
CREATE INDEX rm_mood_entries_user_changes ON rm_mood_entries (user_id, changed_position);
CREATE TABLE rm_mood_tombstones (
    entry_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    deleted_position BIGINT NOT NULL
);
CREATE INDEX rm_mood_tombstones_user ON rm_mood_tombstones (user_id, deleted_position);
