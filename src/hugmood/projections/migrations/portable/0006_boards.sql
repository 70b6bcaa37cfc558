-- Shared mood boards: each board with its activity, and who is on it with which role.
CREATE TABLE rm_boards (
    board_id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    last_activity_ms BIGINT NOT NULL,
    item_count INTEGER NOT NULL DEFAULT 0,
    updates BIGINT NOT NULL DEFAULT 0,
    snapshot_version BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE rm_board_members (
    board_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    added_at_ms BIGINT NOT NULL,
    PRIMARY KEY (board_id, user_id)
);
CREATE INDEX rm_board_members_user ON rm_board_members (user_id);
