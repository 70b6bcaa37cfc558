-- Hugs as their sender and recipient see them, and each user's hug settings.
CREATE TABLE rm_hugs (
    hug_id TEXT PRIMARY KEY,
    sender_id TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    hug_type TEXT NOT NULL,
    message TEXT,
    muted INTEGER NOT NULL,
    status TEXT NOT NULL,
    sent_at_ms BIGINT NOT NULL,
    delivered_at_ms BIGINT,
    seen_at_ms BIGINT,
    withdrawn_at_ms BIGINT
);
CREATE INDEX rm_hugs_inbox ON rm_hugs (recipient_id, sent_at_ms);
CREATE INDEX rm_hugs_sent ON rm_hugs (sender_id, sent_at_ms);

CREATE TABLE rm_hug_settings (
    user_id TEXT PRIMARY KEY,
    accepted_types TEXT NOT NULL,
    muted_ids TEXT NOT NULL
);
