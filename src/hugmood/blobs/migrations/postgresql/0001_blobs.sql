-- Content-addressed blobs (board images): the id is the sha256 hex of `data`.
CREATE TABLE IF NOT EXISTS blobs (
    blob_id TEXT PRIMARY KEY,
    data BYTEA NOT NULL,
    size INTEGER NOT NULL,
    created_at_ms BIGINT NOT NULL DEFAULT (extract(epoch from now()) * 1000)::bigint
);
