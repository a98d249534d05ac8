-- The store's own fixed tables. Each space's objects live in a table of their own (sp_<name>),
-- created by mkdir; its name and definition are recorded here.
create table spaces (
    name        text primary key,
    tbl         text not null unique,
    key_attr    text not null,
    attrs       jsonb not null,
    labels      jsonb not null default '{}',
    partitions  integer not null,
    failures    integer not null,
    versioning  boolean not null,
    created     timestamptz not null default now()
);

-- invocation batches already applied, per space: a retried batch id changes nothing
create table applied_batches (
    space       text not null,
    batch_id    text not null,
    applied_at  timestamptz not null default now(),
    primary key (space, batch_id)
);

-- content-addressed sources: fingerprint = lowercase hex SHA-256 of the UTF-8 bytes
create table code (
    fingerprint text primary key,
    source      text not null,
    created     timestamptz not null default now()
);
