-- 个人中心: a person's address book for courier delivery (recipient, number and place sealed
-- with SM4 like every phone number; at most one default per person), and the payer's history of
-- an enterprise's payment orders (我的缴费 when acting for the enterprise).
CREATE TABLE account_addresses (
    id          UUID PRIMARY KEY,
    account_id  UUID NOT NULL REFERENCES accounts (id),
    label       TEXT NOT NULL,
    body_enc    TEXT NOT NULL,
    is_default  BOOLEAN NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX account_addresses_owner ON account_addresses (account_id, updated_at);
CREATE UNIQUE INDEX account_addresses_default ON account_addresses (account_id) WHERE is_default;

CREATE INDEX payment_orders_enterprise ON payment_orders (enterprise_id, created_at) WHERE enterprise_id IS NOT NULL;
