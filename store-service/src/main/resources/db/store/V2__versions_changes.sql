-- attributes (and label.<name>) with a btree index of their own, as the space was made
alter table spaces add column indexed jsonb not null default '[]';

-- Every version of every object of a versioned space, main line (branch '') and branches, with
-- its parent: written by a trigger on the space's table (so puts, label changes, invocations and
-- merges all make versions, whatever statement did the write) and by the branch writes.
create table versions (
    space         text not null,
    key           text not null,
    branch        text not null default '',
    version       bigint not null,
    parent        bigint,
    parent_branch text,
    attrs         jsonb not null,
    labels        jsonb not null,
    modified      timestamptz not null,
    primary key (space, key, branch, version)
);

-- A branch of one object: its own current state, and the main-line version it starts from
-- (moved forward by each clean merge, the base of the next three-way merge).
create table branches (
    space    text not null,
    key      text not null,
    name     text not null,
    base     bigint not null,
    attrs    jsonb not null,
    labels   jsonb not null,
    version  bigint not null,
    created  timestamptz not null default now(),
    modified timestamptz not null default now(),
    primary key (space, key, name)
);

create function keep_version() returns trigger language plpgsql set search_path from current as $$
begin
    if tg_op = 'DELETE' then
        delete from versions where space = tg_argv[0] and key = old.key;
        delete from branches where space = tg_argv[0] and key = old.key;
        return old;
    end if;
    insert into versions (space, key, branch, version, parent, parent_branch, attrs, labels, modified)
    values (tg_argv[0], new.key, '', new.version,
            case when tg_op = 'UPDATE' then old.version end, case when tg_op = 'UPDATE' then '' end,
            new.attrs, new.labels, new.modified);
    return new;
end $$;

-- The change feed. One row per change: a put, delete, label change or merge of one key, or one
-- chunk of an invocation batch (its keys; their values are read with the change). Readers order
-- by (xid, seq) and only read rows of transactions older than every running one
-- (pg_snapshot_xmin), so a row that commits late is never skipped: see ChangeFeed.
create table changes (
    seq   bigserial primary key,
    space text not null,
    xid   bigint not null default (pg_current_xact_id()::text::bigint),
    at    timestamptz not null default now(),
    op    text not null,
    keys  text[] not null,
    body  jsonb,
    ref   text
);
create index changes_feed on changes (space, xid, seq);
create index changes_at on changes (at);

-- small store-wide settings (the key that signs query cursors)
create table settings (
    name  text primary key,
    value text not null
);

-- The list after add/remove: the elements of old (or of nothing, when replace) that are not in
-- rem, then the elements of add not already there (add itself is duplicate-free unless it is a
-- replacing set). Equality is jsonb equality, not containment
-- (for jsonb, [[1,2]] contains [[1]]).
create function list_apply(old jsonb, replace boolean, rem jsonb, add jsonb) returns jsonb
language sql immutable parallel safe as $$
    with kept as (
        select coalesce(jsonb_agg(e order by o), '[]'::jsonb) as v
        from jsonb_array_elements(case when replace or old is null or jsonb_typeof(old) <> 'array' then '[]'::jsonb else old end)
             with ordinality x(e, o)
        where not exists (select 1 from jsonb_array_elements(rem) r where r = e)
    )
    select kept.v || coalesce((select jsonb_agg(a order by o) from jsonb_array_elements(add) with ordinality y(a, o)
                               where not exists (select 1 from jsonb_array_elements(kept.v) k where k = a)), '[]'::jsonb)
    from kept
$$;
