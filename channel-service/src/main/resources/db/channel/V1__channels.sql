-- Channels carried by Kafka. A channel's messages are records in `topic`/`partition` (the
-- shared m31.channels topic keyed by channel id, or its own m31.ch.<name> topic); PostgreSQL
-- keeps what Kafka cannot: the per-channel sequence, the receive cursor and idempotency keys.
create table channels (
    id          text primary key,
    type        jsonb not null,
    mode        text not null check (mode in ('sync', 'async')),
    capacity    integer,
    name        text unique,
    topic       text not null,
    partition   integer not null,
    closed      boolean not null default false,
    created     timestamptz not null default now(),
    -- seq of the last message sent (seqs start at 1, so this is also the count)
    sent        bigint not null default 0,
    -- the receive cursor: seq of the last message handed to a receiver
    delivered   bigint not null default 0,
    -- Kafka offset from which this channel's undelivered records are found (a lower bound);
    -- on startup each partition is read from the least of these over channels with sent > delivered
    next_offset bigint
);

create index channels_pending on channels (topic, partition) where sent > delivered;

-- A retried send with the same Idempotency-Key is acknowledged again, not produced twice.
create table sends (
    channel text not null references channels (id),
    key     text not null,
    seq     bigint not null,
    primary key (channel, key)
);
