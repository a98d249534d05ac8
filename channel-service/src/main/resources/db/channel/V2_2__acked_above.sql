-- Per-lease acknowledgement: receivers sharing a cursor each acknowledge their own lease, so a
-- cursor's acknowledged seqs are no longer always contiguous. `cursor` stays the floor (everything
-- at or below it acknowledged); the seqs above it acknowledged while a lease below is still out
-- are kept here as flat ranges {lo1, hi1, lo2, hi2, …}, written with the floor, so that they are
-- never delivered again, across a restart too. Numbered 2.2 to slot in beside 2.1.
alter table groups add column acked_above bigint[] not null default '{}';
