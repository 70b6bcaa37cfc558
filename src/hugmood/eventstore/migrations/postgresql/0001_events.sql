-- The event log, its head (last position) and the one-round-trip append function.
CREATE TABLE events (
    position BIGINT PRIMARY KEY,
    event_id UUID NOT NULL UNIQUE,
    stream_id TEXT NOT NULL,
    stream_version INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    version INTEGER NOT NULL,
    timestamp_ms BIGINT NOT NULL,
    user_id TEXT,
    -- TEXT, not JSONB: the event is kept byte for byte as written (JSONB rejects \u0000).
    data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    UNIQUE (stream_id, stream_version)
);

-- One row holding the last position, and the NOTIFY channel of this schema (channels are
-- database-wide, so it is derived from the schema name; md5 keeps it under 63 bytes).
CREATE TABLE events_head (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    last_position BIGINT NOT NULL,
    channel TEXT NOT NULL
);
INSERT INTO events_head (last_position, channel)
VALUES (0, 'hm_events_' || md5(current_schema()));

-- Appends a group of requests (each: a stream, an expected version or NULL for any, and its
-- events, flattened into the event_* arrays) in one transaction, and returns one row per
-- request: outcome 'appended', 'duplicate' (every event stored before: the original
-- positions), 'partial_duplicate', 'repeated_id' or 'conflict' (with the actual version).
--
-- Why the head row is locked first and kept locked until commit: positions must become
-- visible in position order. A sequence hands out numbers at insert time but transactions
-- commit in any order, so a reader could see position 11 committed while 10 is still in
-- flight, move its checkpoint past 10 and never see it. Holding the head's row lock until
-- commit means the next appender reads the head only after this transaction is visible, so
-- commit order equals position order. It also serialises the version and idempotency checks
-- below, so they cannot race. The cost is one commit at a time, which the store offsets by
-- grouping concurrent appends into one call.
CREATE FUNCTION append_events(
    request_streams TEXT[],
    request_expected INTEGER[],
    request_sizes INTEGER[],
    event_ids UUID[],
    event_types TEXT[],
    event_versions INTEGER[],
    event_timestamps BIGINT[],
    event_user_ids TEXT[],
    event_data TEXT[],
    event_metadata TEXT[]
) RETURNS TABLE (outcome TEXT, stream_version INTEGER, positions BIGINT[])
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    head BIGINT;
    notify_channel TEXT;
    first_index INTEGER := 1;
    last_index INTEGER;
    size INTEGER;
    known INTEGER;
    current_version INTEGER;
BEGIN
    SELECT h.last_position, h.channel INTO head, notify_channel FROM events_head h FOR UPDATE;
    FOR r IN 1 .. cardinality(request_streams) LOOP
        size := request_sizes[r];
        last_index := first_index + size - 1;
        SELECT count(e.position),
               array_agg(e.position ORDER BY u.ord),
               (array_agg(e.stream_version ORDER BY u.ord DESC))[1]
          INTO known, positions, stream_version
          FROM unnest(event_ids[first_index:last_index]) WITH ORDINALITY AS u(id, ord)
          -- A per-id index probe, whatever the plan: LIMIT keeps the planner from turning this
          -- into a hash join, which a plan cached while the log was nearly empty would do, and
          -- then scan the whole log on every append until autovacuum invalidated the plan.
          CROSS JOIN LATERAL (
              SELECT s.position, s.stream_version FROM events s WHERE s.event_id = u.id LIMIT 1
          ) AS e;
        IF known = size THEN
            outcome := 'duplicate';
        ELSIF known > 0 THEN
            outcome := 'partial_duplicate';
        ELSIF (SELECT count(DISTINCT i) FROM unnest(event_ids[first_index:last_index]) AS i)
              < size THEN
            outcome := 'repeated_id';
        ELSE
            SELECT coalesce(max(e.stream_version), 0) INTO current_version
              FROM events e WHERE e.stream_id = request_streams[r];
            IF request_expected[r] IS NOT NULL AND request_expected[r] <> current_version THEN
                outcome := 'conflict';
                stream_version := current_version;
            ELSE
                INSERT INTO events (position, event_id, stream_id, stream_version, event_type,
                                    version, timestamp_ms, user_id, data, metadata)
                SELECT head + u.ord, u.id, request_streams[r], current_version + u.ord::INTEGER,
                       u.event_type, u.version, u.timestamp_ms, u.user_id, u.data, u.metadata
                  FROM unnest(event_ids[first_index:last_index],
                              event_types[first_index:last_index],
                              event_versions[first_index:last_index],
                              event_timestamps[first_index:last_index],
                              event_user_ids[first_index:last_index],
                              event_data[first_index:last_index],
                              event_metadata[first_index:last_index])
                       WITH ORDINALITY AS u(id, event_type, version, timestamp_ms, user_id,
                                            data, metadata, ord);
                positions := ARRAY(SELECT generate_series(head + 1, head + size));
                stream_version := current_version + size;
                head := head + size;
                outcome := 'appended';
            END IF;
        END IF;
        RETURN NEXT;
        first_index := last_index + 1;
    END LOOP;
    UPDATE events_head SET last_position = head WHERE last_position <> head;
    IF FOUND THEN
        PERFORM pg_notify(notify_channel, head::TEXT);
    END IF;
END
$$;
