-- The event log. `position` is the rowid: the single writer assigns max + 1 inside its write
-- transaction, so positions are dense and commit in order. JSON is kept as orjson TEXT.
CREATE TABLE events (
    position INTEGER PRIMARY KEY,
    event_id BLOB NOT NULL UNIQUE,
    stream_id TEXT NOT NULL,
    stream_version INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    version INTEGER NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    user_id TEXT,
    data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    UNIQUE (stream_id, stream_version)
);
