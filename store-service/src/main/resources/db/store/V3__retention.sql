-- How far back each space's change feed was pruned: a watch that asks for an earlier point
-- (a time before `before`, or a change at or below `seq`) would silently miss changes, so it is a 410.
create table change_horizons (
    space  text primary key,
    before timestamptz not null,
    seq    bigint not null
);

create index applied_batches_at on applied_batches (applied_at);
create index versions_modified on versions (modified);
