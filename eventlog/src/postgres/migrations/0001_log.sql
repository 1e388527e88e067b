-- Caucus event log, schema version 1: the log-head pattern with one partition.
-- See docs/postgres-log.md. Never edit a released migration: add a new one.

-- One counter row per partition. The append transaction locks it last, just
-- before inserting, and holds it until COMMIT: positions are dense and in commit
-- order, and a rollback rolls the counter back with the rows.
CREATE TABLE log_partitions (
    partition_id  smallint PRIMARY KEY,
    next_position bigint   NOT NULL DEFAULT 0 CHECK (next_position >= 0)
);
INSERT INTO log_partitions (partition_id, next_position) VALUES (0, 0);

-- One row per stream, locked by every append to it. revision = -1: no events.
CREATE TABLE streams (
    stream_id    text     PRIMARY KEY,
    category     text     NOT NULL,
    partition_id smallint NOT NULL DEFAULT 0,
    revision     bigint   NOT NULL CHECK (revision >= -1)
);

CREATE TABLE events (
    partition_id   smallint    NOT NULL,
    position       bigint      NOT NULL,
    stream_id      text        NOT NULL,
    revision       bigint      NOT NULL,
    event_id       uuid        NOT NULL,
    event_type     text        NOT NULL,
    schema_version integer     NOT NULL,
    codec          smallint    NOT NULL,
    data           bytea       NOT NULL,
    actor          text,
    correlation_id uuid,
    causation_id   uuid,
    recorded_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (partition_id, position),
    UNIQUE (stream_id, revision),
    UNIQUE (event_id)
);
CREATE INDEX events_type ON events (partition_id, event_type, position);

CREATE TABLE subscription_checkpoints (
    name         text     NOT NULL,
    partition_id smallint NOT NULL,
    position     bigint   NOT NULL,
    PRIMARY KEY (name, partition_id)
);
