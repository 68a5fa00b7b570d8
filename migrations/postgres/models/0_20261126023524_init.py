from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "merchants" (
    "id" VARCHAR(40) NOT NULL PRIMARY KEY,
    "name" VARCHAR(200) NOT NULL,
    "payout_addresses" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "merchants" IS 'A business that sells through Kassa; payouts go straight to its own addresses.';
CREATE TABLE IF NOT EXISTS "api_keys" (
    "id" VARCHAR(40) NOT NULL PRIMARY KEY,
    "livemode" BOOL NOT NULL,
    "display" VARCHAR(40) NOT NULL,
    "secret_sha256" VARCHAR(64) NOT NULL UNIQUE,
    "created_at" TIMESTAMPTZ NOT NULL,
    "last_used_at" TIMESTAMPTZ,
    "revoked_at" TIMESTAMPTZ,
    "merchant_id" VARCHAR(40) NOT NULL REFERENCES "merchants" ("id") ON DELETE RESTRICT
);
COMMENT ON TABLE "api_keys" IS 'A merchant''s secret key; only its SHA-256 is stored.';
CREATE TABLE IF NOT EXISTS "checkout_sessions" (
    "id" VARCHAR(48) NOT NULL PRIMARY KEY,
    "livemode" BOOL NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "amount_fiat_cents" BIGINT NOT NULL,
    "fiat_currency" VARCHAR(3) NOT NULL,
    "allowed_crypto_currencies" JSONB NOT NULL,
    "allowed_networks" JSONB NOT NULL,
    "payment_id" VARCHAR(48),
    "checkout_url" VARCHAR(2048) NOT NULL,
    "success_url" VARCHAR(2048) NOT NULL,
    "cancel_url" VARCHAR(2048) NOT NULL,
    "customer_email" VARCHAR(254),
    "client_reference_id" VARCHAR(200),
    "metadata" JSONB NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "merchant_id" VARCHAR(40) NOT NULL REFERENCES "merchants" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_checkout_se_status_9e870c" ON "checkout_sessions" ("status");
CREATE INDEX IF NOT EXISTS "idx_checkout_se_expires_1bcc6a" ON "checkout_sessions" ("expires_at");
CREATE INDEX IF NOT EXISTS "idx_checkout_se_created_c3e8d5" ON "checkout_sessions" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_checkout_se_merchan_e998f5" ON "checkout_sessions" ("merchant_id", "livemode", "created_at");
COMMENT ON TABLE "checkout_sessions" IS 'What a shopper is asked to pay; see `app.states` for its statuses.';
CREATE TABLE IF NOT EXISTS "events" (
    "id" VARCHAR(40) NOT NULL PRIMARY KEY,
    "livemode" BOOL NOT NULL,
    "type" VARCHAR(64) NOT NULL,
    "object_id" VARCHAR(48) NOT NULL,
    "data" JSONB NOT NULL,
    "request_id" VARCHAR(64),
    "idempotency_key" VARCHAR(255),
    "created_at" TIMESTAMPTZ NOT NULL,
    "merchant_id" VARCHAR(40) NOT NULL REFERENCES "merchants" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_events_type_785410" ON "events" ("type");
CREATE INDEX IF NOT EXISTS "idx_events_object__2fb69f" ON "events" ("object_id");
CREATE INDEX IF NOT EXISTS "idx_events_created_d652bf" ON "events" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_events_merchan_ef0e2b" ON "events" ("merchant_id", "livemode", "created_at");
COMMENT ON TABLE "events" IS 'An append-only record of something that happened; webhooks deliver these.';
CREATE TABLE IF NOT EXISTS "idempotency_records" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "key" VARCHAR(255) NOT NULL,
    "request_fingerprint" VARCHAR(64) NOT NULL,
    "state" VARCHAR(16) NOT NULL,
    "response_status" INT,
    "response_body" TEXT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "api_key_id" VARCHAR(40) NOT NULL REFERENCES "api_keys" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_idempotency_api_key_24bb02" UNIQUE ("api_key_id", "key")
);
CREATE INDEX IF NOT EXISTS "idx_idempotency_created_68bd32" ON "idempotency_records" ("created_at");
COMMENT ON TABLE "idempotency_records" IS 'The first response to a request with an `Idempotency-Key`, replayed for repeats.';
CREATE TABLE IF NOT EXISTS "payments" (
    "id" VARCHAR(48) NOT NULL PRIMARY KEY,
    "livemode" BOOL NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "network" VARCHAR(40) NOT NULL,
    "crypto_currency" VARCHAR(16) NOT NULL,
    "token_address" VARCHAR(42),
    "amount_base_units" VARCHAR(78) NOT NULL,
    "decimals" SMALLINT NOT NULL,
    "amount_fiat_cents" BIGINT NOT NULL,
    "fiat_currency" VARCHAR(3) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "merchant_id" VARCHAR(40) NOT NULL REFERENCES "merchants" ("id") ON DELETE RESTRICT,
    "session_id" VARCHAR(48) NOT NULL REFERENCES "checkout_sessions" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_payments_status_c133d1" ON "payments" ("status");
COMMENT ON TABLE "payments" IS 'One attempt to pay a session on one (network, token); see `app.states`.';
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXXtv2zYQ/yqE/1kGuEHixE62DgOcNF29JvGQeA+sKFRaOtucZVEVqaTG1u8+Ug/rrU"
    "iO7NiqgACJSR4l/+54vDveMf+2FlQDnR32TfIelq0f0b8tAy9A/BHraaMWNs2gXTZwPNad"
    "odgkyhyWTiMeM25hlYv2CdYZiCYNmGoRkxNqyNF9tABLnWGDf8cQA9UCjgT1a0QNfYkIZ+"
    "j+Xf9Vp9tDRPRzaoF2KGfWqCqmJsb0OZPYBvlsg8LpFPgMLDHVh4+imRgafAHmfzTnyoSA"
    "rkUAIZqcwGlX+NJ02i5n2HrrjJQvOFZUqtsLIxhtLvmMGqvh4v1l6xQMsDAHLQSSYeu6h6"
    "ff5L6raOCWDauX1IIGDSbY1iXUktp9g6CtpSi3w5FyfzVSlFaCDT5FCFSvSaWGZCExOHO+"
    "/wJ/UXQwpnwmPp4efXWfE+DgjpIP/KN/d/muf3dwevS9fCAVcuAKyK3X03G6vjpTYI7dSR"
    "zUA5h18gBSxpJgX1CqAzbS8Q6TxVAfC7p1YPcbAtwDid4C8DlAXwyH13LmBWOfdadhMIoh"
    "/vvNxdXdwbHDCDGIcKd5cDty4A/g1ggzdbwsI9ohkmrk+4WB3oyEBxC76klhMyz0URmgE4"
    "S1Uye90wJg904zwZZdUbAFYhIKBfMk0m9EDycLSEc7ShmDWvNID/0/9lHOxRfUhmJ/9Fie"
    "A/1ocHN1P+rf/BbRMm/6oyvZ03Fal7HWg16MTatJ0J+D0TskP6K/h7dXDryU8anlPDEYN/"
    "q7Jd8J25wqBn1UsBaSTr/VRy3CdR0zrthsLb7HaSvgvPfKu8L4PWG0j0kupy14oPO1+Byl"
    "bLi8y1z2jXulnNEdI2uskwzrRPo4k3mq+e1DmIT9rXCiyNQQ3qAD/kC8JTbUNIPbcx1vQl"
    "PtGehffcnyW4PlbuHHlXMYFziBgfjm4Nrad2IV3A0uhcEt4R5jdf6ILU3JwJ1osDApB0Nd"
    "Khao1NJYigfkTfL2/R3o2PlSmegPggnvnPlqxAYHUdqhISQjGCe7Fp1FvAUbeOp8Jfls+S"
    "QPuMsZqHNq83tgzH3fRFAkPqSdFx1RvcEKc0cXDJP8OcMcYcRm1DTBkmEMzMT2hThFJl6+"
    "RgwAfRJPPRTLkAP7hCbUcgIf8rMwZ1gyaFLNlE+HUD7E10XYOQ+Z2R+bWEuurj8vouvPs3"
    "X9eRNr2alYi7uMSkUAVhSbsmVeTryPewXE+zhuhQbiLbui+OIFtYXOmRDMFRXkQ5NyTaYD"
    "g6eDnUoew53spTkj3lf8evVDp3NyctY5Oumdd0/PzrrnR+dSOcu+ZNdZ3poY/CKlO8KYpL"
    "i7QNqWJW2QMlKfIKyhIX9SQPhPMmX/JCH6uk4fxa6qWktT+FUeeARSlsCv98PbjAWQN0nc"
    "YSYqR/8hnbB9XBA54Et4IvreR/3gpv9XnCGX18OLuP8rJ7jIYI8B/JFa87W4EqZtmPEMZg"
    "hbdwGlYwtRqrU00o4FjDZjbYZC8b7jY1t6GaTjdDXU/p2jQnDLYZmAu50xC9NWVeFllkU8"
    "RtYAXhhwVYbA9NISHqFq4C4Ot804XYClwAKTcpAnKOunwjvdIsepYlQ25t3kgapO5LZnwQ"
    "SkNQglt80M8hqCf1QkNC9G5Qh8InVgARzL6E0ZezFMs307sfXTxDZUCSUa20TnxGCH8rE/"
    "t2piPcIXk4juNQ4go5TbSTDYZninTgeQ+5VG0nB5PS7bprYml6OUNUwWqhObm2yCJptgB9"
    "bSFrMJvGDVM1MIfnNnqRHiG00cuHoA50GJdAG3o52XJAAPPrsKFFAYSEwEhvbKKXZws0UQ"
    "nSAmHFw+E7ggLk/6Z84o0F6jRxjPKJ0zJJ5LHsAS/cAgpaqiypmbPIG90uLtJk9gV/IEHJ"
    "BKyLU/vn45AtXXB9DxP6CWtQQjRPVDufqjn7Ixq5eLV9XoXNMC8bVZWdmOUtUvLlu9Cgmn"
    "6s6hVGZLCmn9EO90u4WOIbo5xxDd/a7ragJyTaRmB238JlKzI5GaTYYhkoUfKSGJ1OqQ7P"
    "BERnXK07GK0QzQhFiMI6ElTAEryGoDjDyrAz0SPkPYQJ9CL/RKiNqnthgiq8xBc6oQxAeh"
    "xVNqGjbxgJTIxQf/kguP43Lz/vicmyPyEpFTtVhK5rEnmbsbpthi2nF28KKkifYcs2zX1N"
    "kW7DLffZiI9wDLtEjaFvK09xEjryH61fshTpVWGbBXBDWEt/pqEn8/UbLKdjL1dwrlWmUk"
    "u+blueq8c3x6dnp+0jtdafFVS57yToY5VzCNqZaiokfw5Sl8fcI6+NB5btzVX6P8aNHKi7"
    "se3v7iD4+HkBqH+ttzqKNWa9GNIkpVw91i4+60h2AF3nRwAd+eIV7Ul44KW8SVvuzfX/bf"
    "XL2UJ70KZKQ40OEgR7bf7McJCl+NOLYZMYAx95ydga7LPy1qT2foPWYMv5al+tTmDE0pco"
    "Cdzrh0eWWdPn00kFAOQn+k1v9XP31zneIu6KF2jvfr/C4BtD++hkp/Ixn67nJRVsuizKln"
    "Gm2TsV/5ueh+WbrbXSD1uhIwYZAVyZUM3168fq5k7cy09FLe8B1G64OVcn9SHVELkjrXh2"
    "qVO1pHgJo05QyQNunV+HClODUhJLN9mjDTnnZphgYgzDksTO7dMyZvIHPXPXJ+AB14V1u0"
    "xYg5GN8nbyJL+jIVzts4MbuRPtjkH+9I/nFzT9lmT5Y8tVTKLQ9IauiZV3/nfvQKq1IJAC"
    "mkNYS8eql29lg/mFEG8ARhHY7zYgLeKSLgnWwB72TcdTjGDBTxndNs6N8HBu90exlHPGn0"
    "tbjssADSZ8mCBVDJAuspKN6LZj3zqD9MVwv0vEP+k85Zb3W+Lz/kHe3f3/Svr5NmRHMd5w"
    "7kxTXXcRZS0BVfx9mEnNdRz7sUYi6UXdHcH/JNsLmpStni/0pzInglkY5S1RHoSkJsOflK"
    "LDiJeWa+Un3PdtqxxKWo1GXUAKXpkQpQbmqsXrTGqg8WUWetlCMUr6ed+/9ygzFPnZ9ko1"
    "rxqcW3Uoz0zOz17DOKB7DSNWj2thUiqeGetZFyI7moSiDsDa8huseFktmOc5LZjpPJbOKJ"
    "HNL2p+wcthBJc3lHySS1EulK1W9mX/8HwlWVzA=="
)
