-- Where every named resource lives now. A binding's generation grows on every move, so a
-- stale holder of an older generation is detected; a deleted binding stays as a tombstone
-- (gone) so later lookups answer 410 rather than 404.
create table bindings (
    id         text primary key,
    kind       text not null check (kind in ('fibril', 'channel', 'node', 'space')),
    node       text,
    url        text,
    generation bigint not null,
    gone       boolean not null default false,
    updated    timestamptz not null default now()
);

create index bindings_kind on bindings (kind) where not gone;
