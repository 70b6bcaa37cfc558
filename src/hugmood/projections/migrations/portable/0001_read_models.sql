-- Read models: projections of the event log, rebuildable from position 0 at any time.
-- Portable SQL: SQLite and PostgreSQL run this file alike.
CREATE TABLE rm_checkpoints (
    projection TEXT PRIMARY KEY,
    position BIGINT NOT NULL
);

CREATE TABLE rm_accounts (
    user_id TEXT PRIMARY KEY,
    handle TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    bio TEXT NOT NULL DEFAULT '',
    home_region TEXT NOT NULL,
    default_visibility TEXT NOT NULL,
    registered_at_ms BIGINT NOT NULL
);

CREATE TABLE rm_sessions (
    session_id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    started_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    ended INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX rm_sessions_user ON rm_sessions (user_id);

-- One row per side of a relationship: status is 'friends', 'requested' (sent) or 'incoming'.
CREATE TABLE rm_friendships (
    user_id TEXT NOT NULL,
    other_id TEXT NOT NULL,
    status TEXT NOT NULL,
    since_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, other_id)
);
CREATE INDEX rm_friendships_status ON rm_friendships (user_id, status);

CREATE TABLE rm_blocks (
    blocker_id TEXT NOT NULL,
    blocked_id TEXT NOT NULL,
    since_ms BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX rm_blocks_blocked ON rm_blocks (blocked_id);

CREATE TABLE rm_mood_entries (
    entry_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    mood_type TEXT NOT NULL,
    intensity DOUBLE PRECISION NOT NULL,
    note TEXT,
    context_factors TEXT NOT NULL,
    privacy TEXT NOT NULL,
    recorded_at_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX rm_mood_entries_user_time ON rm_mood_entries (user_id, recorded_at_ms);
