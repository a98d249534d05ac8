-- How far the pruner has looked at versions by count, per scope (a space, or '' for every space):
-- versions written since `since` (and branches deleted since then) name the lines it looks at
-- next time, under the same `keep`; another `keep` looks at every line once.
create table retention_marks (
    space text primary key,
    keep  integer not null,
    since timestamptz not null
);
