-- What a client's Idempotency-Key was first used for: a SHA-256 over the send's messages. A retry
-- with the same key and the same messages is the duplicate it is; the same key with other messages
-- is a client's mistake, answered 422 (as the IETF Idempotency-Key draft and Stripe answer it),
-- where it used to be taken for a duplicate and the new messages silently dropped.
alter table sends add column digest bytea;
