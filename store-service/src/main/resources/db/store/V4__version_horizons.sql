-- Which versions the retention pruner removed, per object and line (main '' or a branch): a read
-- of one of them is a 410 (it existed and is no longer kept), while a version that never existed
-- stays a 404. A multirange, because what is pruned is mostly contiguous (a line's oldest
-- versions) with holes where a branch's merge base is kept; written by the pruning statement itself.
create table version_horizons (
    space  text not null,
    key    text not null,
    branch text not null,
    pruned int8multirange not null,
    at     timestamptz not null,
    primary key (space, key, branch)
);

-- as before, and an object's pruning record goes with its history (a new object of that key starts at 1)
create or replace function keep_version() returns trigger language plpgsql set search_path from current as $$
begin
    if tg_op = 'DELETE' then
        delete from versions where space = tg_argv[0] and key = old.key;
        delete from branches where space = tg_argv[0] and key = old.key;
        delete from version_horizons where space = tg_argv[0] and key = old.key;
        return old;
    end if;
    insert into versions (space, key, branch, version, parent, parent_branch, attrs, labels, modified)
    values (tg_argv[0], new.key, '', new.version,
            case when tg_op = 'UPDATE' then old.version end, case when tg_op = 'UPDATE' then '' end,
            new.attrs, new.labels, new.modified);
    return new;
end $$;
