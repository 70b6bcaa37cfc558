-- Rebased boards: which generation of a board's content is current (its stream is
-- boardDoc-<id>~<generation>), and where its newest snapshot is on that stream.
ALTER TABLE rm_boards ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
