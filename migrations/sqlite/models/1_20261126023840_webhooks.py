from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "webhook_endpoints" (
    "id" VARCHAR(40) NOT NULL PRIMARY KEY,
    "livemode" INT NOT NULL,
    "url" VARCHAR(2048) NOT NULL,
    "description" VARCHAR(500),
    "enabled_events" JSON NOT NULL,
    "metadata" JSON NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "disabled_reason" VARCHAR(200),
    "signing_secrets" JSON NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "merchant_id" VARCHAR(40) NOT NULL REFERENCES "merchants" ("id") ON DELETE RESTRICT
) /* A merchant URL that receives signed events; see `app.webhooks`. */;
CREATE INDEX IF NOT EXISTS "idx_webhook_end_created_50dc25" ON "webhook_endpoints" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_webhook_end_merchan_464dec" ON "webhook_endpoints" ("merchant_id", "livemode", "created_at");
        CREATE TABLE IF NOT EXISTS "webhook_deliveries" (
    "id" VARCHAR(40) NOT NULL PRIMARY KEY,
    "status" VARCHAR(16) NOT NULL,
    "attempts" INT NOT NULL,
    "next_attempt_at" TIMESTAMP NOT NULL,
    "retry_until" TIMESTAMP NOT NULL,
    "lease_token" VARCHAR(40),
    "last_status_code" INT,
    "last_error" VARCHAR(500),
    "created_at" TIMESTAMP NOT NULL,
    "completed_at" TIMESTAMP,
    "endpoint_id" VARCHAR(40) NOT NULL REFERENCES "webhook_endpoints" ("id") ON DELETE CASCADE,
    "event_id" VARCHAR(40) NOT NULL REFERENCES "events" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_webhook_del_event_i_56dcba" UNIQUE ("event_id", "endpoint_id")
) /* The outbox row: one event owed to one endpoint, written in the event's transaction. */;
CREATE INDEX IF NOT EXISTS "idx_webhook_del_status_d0f04a" ON "webhook_deliveries" ("status", "next_attempt_at");
CREATE INDEX IF NOT EXISTS "idx_webhook_del_endpoin_a9b3f7" ON "webhook_deliveries" ("endpoint_id", "created_at");
        CREATE TABLE IF NOT EXISTS "webhook_attempts" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "number" INT NOT NULL,
    "started_at" TIMESTAMP NOT NULL,
    "duration_ms" INT NOT NULL,
    "status_code" INT,
    "error" VARCHAR(500),
    "response_body" TEXT,
    "delivery_id" VARCHAR(40) NOT NULL REFERENCES "webhook_deliveries" ("id") ON DELETE CASCADE
) /* One HTTP attempt of a delivery, for the merchant's delivery log. */;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "webhook_endpoints";
        DROP TABLE IF EXISTS "webhook_deliveries";
        DROP TABLE IF EXISTS "webhook_attempts";"""


MODELS_STATE = (
    "eJztXW1v2zgS/iuEv1wWcIvEiZPc9nCAm6bbbPNSJO51sUGh0hJt6yKLXpFKauz1vx9JSb"
    "ZeKEWyJVdmCCywDcWh5IfkaObhzOjvzgxbyCGvB3P7I1p0fgV/d1w4Q+wfqStd0IHz+aqd"
    "N1A4ckRXOLeNB7QQjXBEqAdNytrH0CGINVmImJ49pzZ2ee8BmCHPnEKX/oMAgkwPUcCk3w"
    "DsOgtgUwLuPgxe9frHwGbXKfaQ9ZqPbGGTDW27k00G8V37Lx8ZFE8QnSKPDXX/lTXbroW+"
    "IxL9OX8wxjZyrAQgtsUHEO0GXcxF29kUeu9FT/6AI8PEjj9zV73nCzrF7rI7e37eOkEu8i"
    "BFVgwk13ecEM+oKXhW1kA9Hy0f0lo1WGgMfYdDzaWDJ1i1dQzj+mZo3J0PDaOTmYZIIgZq"
    "2GRil0+h7VIifv8Mfjcc5E7olP15tP8juM8Kh6AXv+F/BrdnHwa3e0f7v/AbYrYOggVyHV"
    "7piUs/xBCQwmAQgfoKZsd+RHyNZcF+i7GDoCvHOy6WQn3E5NaBPWpY4b5a0VsAvgDotzc3"
    "l3zkGSF/OaLhYphC/PPV2/PbvQMxEayTTUXzxfVQwL+C27LJ3IGLKks7JlLP+v7JQDezwl"
    "cQB+rJIFPI9FEVoDOCyqmT46MSYB8f5YLNLyXBZohxKAxIs0i/Y1eoPUNytJOSKaitUPR1"
    "9I9dXOfsB1o37P0YTnkB9MOLq/O74eDqU0LLvBsMz/mVnmhdpFr3jlPTtBwEfLkYfgD8T/"
    "DnzfW5gBcTOvHEHVf9hn92+DNBn2LDxU8GtGKrM2qNUEvMugMJNXyy1rynZWuY+fCR2zLx"
    "OzLRESaFM+2hR/yw1jwnJfUst3mWI+PeqGZ0p8S0dZJjnXAfZ/wgNb8jCLOwv2dOlD1xmT"
    "cowL9gTwldU2Zwh67jVWyoHQP9R7SyotbVdvfg09I5TC84hgH75SiwtW/ZLri9OGMGN4d7"
    "BM2HJ+hZRg7utoVmc0yRay4MD5nYs4jEAwoHef/xFjlQ/Khc9C9WA96K8RSaBoEo7uEYkg"
    "mMs5dmvVm6BbpwIn4Svze/Uwjc2RSZD9ind4iQ4HkzpEi6S7eIHTHDzgYJepekSb5MIQUQ"
    "kCmez5HHaQxI2OsLUAzmcPEGEITAN3bX12wbUkS+gTH2BPHB/2bmDMmSJvUM+TyFcp/eF3"
    "HnPGZmf9VcS6GuPy2j60/zdf2p5lpaxbUE26gSA7CUaMqW+XnL++C4xPI+SFuhq+XNLyXx"
    "hTPsM50ztiE1TMRvml3X9uTCpXKwpeIp3O2dNGfY87L/vfpnr3d4eNLbPzw+7R+dnPRP90"
    "+5cubXspdOivbExW98dScmJrvcAyB9z+M2SJVVnxFU0JA/LLH4D3PX/mFm6TsOfmJvVdNb"
    "zJlfFYJnI8kW+P3u5jpnAxQNknaYbZOC/wHHJru4IQrA5/Ak9H2E+t7V4I/0hJxd3rxN+7"
    "98gLc50+Mi+oS9h7VmJS6rJ2ODyWC27gxV5haSUmtppJYRRs1YmzEqPnJ8fM+pgnRaTkHt"
    "39svBTfvlgt4cDFlYfqmybzMqoinxDTgpQE3OQXmVF7hCSkNd3m4fULxDHkGmkG7GuQZSf"
    "VUeK9f5jiV9crHvJ89UHVs/trz0BhxaxBVfG3miCsI/n4Zap71KljwmdCBGaKQszdV7MW4"
    "zPbtxM6/xr5rcijByLcdarvkNb/tvzuKWI/o+9xml9c4gExKbifAYJv0jkoHkLsVRqJneb"
    "1Z9ufWmrOclFQwWEiladbRBDqaoAV7aYvRBCFZtWEIwadgFIUQbzRw4PwRiRtlwgWCC92i"
    "IAH0GE1XiQQKF7CBkGu9EskOQbQIwGNAmINLpwwXQPlJ/1T0QtYb8IRGU4wfCGD3tR+Rx6"
    "4jgiRZFXWOrOMEdkqLd3WcQFviBARIFdZ11F+9GIH68wPw6L/IrGoJJoTUQ7n+o5+qnNXP"
    "46sUOtf0EPvZpOraTkqpx8vWr0LioboPqFJki0RUPcR7/X6pY4h+wTFEf7fzujQhp5maFt"
    "r4mqlpHVMT+s3SSL0qXM2XwBF/Fwy3UAj7RjmbbJaMhL+RptLkczk5qTzPEzvDKQJj2yMU"
    "MJU6ZzggnpoBQWiigSebTgF0wbfYA71i+/Jbl3XhKfnIEikb7A/2ypMkgDRxAwnNcx9VBA"
    "m3B7d0vm5SZqMoaluq8iVh2uE2bi+ns8UY7Xymp6I9u4kN2zb9swUjNvK1xuw5kDf3bNn7"
    "9nlXLSWuIPr1O20ipa0K2EsBBeGtP/Umep8YeTlOufpbIrlWzk3bXOJAnfcOjk6OTg+Pj5"
    "ZafNlSpLyznPASphG2JCp6iL4/h28kqALhUOTznv8xLKbWli7v5c31b1H3NN+m2YeXxz4k"
    "rdayL4qklIJvi8a5hxDBGqiHVbXCHUO8LPGQXGwJ3uFscHc2eHdeRDs06UkvWR+JAx1nhP"
    "L95ohUKV1HcuQT20WEBEEJBDkO/6eH/ckUfISEwDe8rgH2KQETDASwkynlLi8vaoCfXMCU"
    "A9Mf0mIJ9Q+va0+2QQ91C7xf8f8KQEf9FVT6jaQzBNvFWG6LKkfEMlmd3lD7IfJuWbrb3S"
    "Bq1U/MGGRljivipZ7XP6xQzkyT5z3HCz6tD5ak2JSKqK0iYNeHahloqyJAOqa7BEhhPLKB"
    "XGuO7Y3RCk9Vz8PRVEKtSV8wWmQSVzC2/vI9wfhSf94RvHERgJSi2ZyGpex4kbtAWwLxHw"
    "J7YfWULuvxgNxfssXush5gjeNq168dEao6xL0lIe66FF6z53GhWqpEZqxEFOQz6v+sQ7JK"
    "WqWwCYmogpDXv6rFOzaigKoAnhFU4RA0tcB7ZRZ4L3+B93LKaY4gQQb7zTJb+vOFS3v945"
    "yDMZm8EvU0SyB9ks2JQaY9g44ExTvW7OQGSMTllEAvDI047J0cL6Mi+B9FARF3V4PLy6wZ"
    "oSu+tiCaUFd8LaWga674qon6ddRzm4j5UjEpukTNi5hmnfi0xc/xCQavItJJKRWBroViK4"
    "jyIqvzqw2jvNQ9Eeumwr2Sqy4nzUymR2pAWafxPZvG1+QZSnj0NAgOIDqSo5RUj27RiUp0"
    "LhaeZ1Q4WfkwHH5aHoPgMYBRqZ9FV+SC0SmKf4s5uggcPJEfqWw6YM1nKTq3rF5vsCC6zp"
    "+NkJedgVz4VwIq+eS1pYQwBe6t5xokJbVr0GrXwPI9EaVgzKqkVaWk9AbKPYRkoMmOfXOR"
    "TUnpZLUssMjzsETR53tXSwH1zmX6pQKp+wWB1P1sILXOBvyZ2YCRSVqRQkiJqcghNJ0pZs"
    "XKm2zo3qpbMKWb8nJT665NSWPpScj3cuPz9Lybm6yqU67yCvbpCH8HHn76VYT2iYBkwD+9"
    "xqP/REsYBtoFT57NHFgX2K5wV0VX5quyu7gEivQQefGVBu4hrb8iOofzHY3I/0xXYbmPhV"
    "W57KUR8QOi6m4X3CeEu7oob5uS1doYQpfVfx1eTprDthXUG/imbIwwK+kgxEW253ft74hv"
    "kFYzGVyLqQuJuOYvWs1feIgy28N3qeyDbcWTnRLVE93qiXYQj/QToZZV3kopMRUc0qaPsB"
    "1IqLEeeyUT1RRW9jUlcKrMYyWl1FvKjZBZOpLtRbweTDybc9phrYlOydYw1S3bZyrNdIo0"
    "KH0IkBTT/GgJSyBO9JTG+XHD79i/BJALSGgUVRnYkIFWrVpBN8U7x9eZnHSWKY36qH0Fs/"
    "YzECdVZlVqP0NzGQ6eZCdgjYoJsaA0RaBvtGBCesXmn4PEF/Xz5yCJMhhlSupFgXfg8+1l"
    "UPfOQyayHxEBhO1BZAXnECRW5yD6BKCkgkIN4+mvCO7Ua7NbcGChSyxstcSC70n41vxlHX"
    "ZX0CDs7ZfKbeDdCooZSj5yF3u4CkCnxDRJVIokQi7/6ZaRVyYsv3BkVlJ/ZXCDApEzRGHV"
    "zzvGZXTNztqnZEciAcKN2BTqTUcCWDYJFAkzKUlFlZ8VVU/tN1IxmDsJ7BEMgpglX03vS0"
    "S14n8xlYH1NzB0vQE9zbreQOtOD3SGdqcCwa0/tKoIwz1g0JvTjoTYDq90i/hsuOrzHImd"
    "D0PNieMvJWt8w5CqfD6YbR95QZD8909MRMF3TyPfHOWbqgLCYXcF0T0o5Z8eFPinB5LYNe"
    "xSaTRAvl8aE9H+aEV/NGNXbTNt7cf/AVopnzs="
)
