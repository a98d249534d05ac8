-- Issue 5: channels complete. A message's seq is now its Kafka record's offset + 1: unique and
-- increasing along a channel without any counter (so a failed database commit after Kafka took a
-- record can never make two records share a seq), and assignable on consumption to records that
-- plain Kafka producers write into a named channel's topic.
--
-- Receive cursors ("groups"): '' is the channel's own (shared by the channel's recv endpoint and
-- its shared clones); a broadcast clone has its own. cursor = the last acknowledged seq, so the
-- records still needed lie at offsets >= cursor.
create table groups (
    channel  text not null references channels (id),
    id       text not null,
    cursor   bigint not null default 0,
    received bigint not null default 0,
    primary key (channel, id)
);

-- the old cursor was a count; the first record still needed sits at next_offset
insert into groups (channel, id, cursor, received)
select id, '', coalesce(next_offset, 0), delivered from channels;

alter table channels add column capabilities boolean not null default false;
-- the highest seq the service produced for this channel (a channel with a cursor below it has pending records)
alter table channels add column last_seq bigint not null default 0;
-- set by a close: records beyond it (seq > close_seq) are not part of the channel
alter table channels add column close_seq bigint;
update channels set last_seq = 9223372036854775806 where sent > delivered;
drop index if exists channels_pending;

-- endpoints beyond the two every channel has ('s0', 'r0'): clones, each with its own capability
create table endpoints (
    channel text not null references channels (id),
    id      text not null,
    "end"   text not null check ("end" in ('send', 'recv')),
    grp     text not null default '',
    created timestamptz not null default now(),
    primary key (channel, id)
);

-- idempotency keys: the first attempt read from Kafka wins; a send claims its key before producing
alter table sends add column attempt text;
alter table sends add column last_seq bigint;

-- sync sends that no receiver took in time: never delivered
create table withdrawn (
    channel text not null references channels (id),
    seq     bigint not null,
    primary key (channel, seq)
);

-- the service's HMAC key for capabilities (one row, made on first start)
create table secrets (
    name  text primary key,
    value bytea not null
);
