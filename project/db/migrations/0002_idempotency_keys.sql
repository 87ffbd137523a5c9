-- Idempotency-Key records of POST /api/v1/orders (project/store/orders/idempotency.py).
-- A record is written in the transaction that creates its order, so the order
-- and the memory of its answer commit together or not at all: a retry finds
-- the answer, never a second order, whichever instance takes it and even when
-- Redis has lost everything. Keys are per user; rows older than
-- IDEMPOTENCY_TTL_SECONDS count as absent and are purged lazily and by
-- `flask db purge-idempotency-keys`.
CREATE TABLE idempotency_keys (
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL,               -- SHA-256 of the validated request body
    status       smallint NOT NULL,            -- the first answer's status
    response     jsonb NOT NULL,               -- and its body, replayed as it was
    order_id     bigint REFERENCES orders (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT idempotency_keys_user_key UNIQUE (user_id, key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
