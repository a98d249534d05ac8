-- Issue 6: a channel has an owner and read/write lists, held as labels (owner, readers, writers)
-- and read by common/security/Access. Channels made before have none: the mantle's, open to every
-- authenticated caller as they were. Numbered 2.1 so that it slots in beside other migrations of
-- this schema written at the same time.
alter table channels add column labels jsonb not null default '{}'::jsonb;
