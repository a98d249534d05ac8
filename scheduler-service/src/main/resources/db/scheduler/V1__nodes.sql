-- The node registry: every fibril node heartbeats here (about once a second). A node is alive
-- while its last heartbeat is younger than m31.scheduler.liveness and it is not suspect; a
-- node is marked suspect when a forward to it fails to connect, until its next heartbeat.
create table nodes (
    name          text primary key,
    url           text not null,
    labels        jsonb not null default '{}'::jsonb,
    fibrils       integer not null default 0,
    last_seen     timestamptz not null,
    registered    timestamptz not null default now(),
    suspect_since timestamptz
);

create index nodes_labels on nodes using gin (labels jsonb_path_ops);
