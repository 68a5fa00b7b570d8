from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "chain_cursors" (
    "network" VARCHAR(40) NOT NULL PRIMARY KEY,
    "block_number" BIGINT NOT NULL,
    "block_hash" VARCHAR(66) NOT NULL,
    "block_timestamp" BIGINT NOT NULL,
    "recent_hashes" JSON NOT NULL,
    "halted" INT NOT NULL,
    "halt_reason" TEXT,
    "updated_at" TIMESTAMP NOT NULL
) /* Where a network's watcher stands; survives restarts. */;
        CREATE TABLE IF NOT EXISTS "chain_observations" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "network" VARCHAR(40) NOT NULL,
    "block_number" BIGINT NOT NULL,
    "block_hash" VARCHAR(66) NOT NULL,
    "tx_hash" VARCHAR(66) NOT NULL,
    "log_index" INT NOT NULL,
    "session_ref" VARCHAR(66) NOT NULL,
    "payment_ref" VARCHAR(66) NOT NULL,
    "payment_id" VARCHAR(48),
    "payer" VARCHAR(64) NOT NULL,
    "token" VARCHAR(64) NOT NULL,
    "amount" VARCHAR(78) NOT NULL,
    "recipient" VARCHAR(64) NOT NULL,
    "fee" VARCHAR(78) NOT NULL,
    "canonical" INT NOT NULL,
    "mismatch" VARCHAR(200) NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    CONSTRAINT "uid_chain_obser_network_123962" UNIQUE ("network", "tx_hash", "log_index", "block_hash")
) /* One payment-contract log as seen in one block; idempotent per (tx, log, block). */;
CREATE INDEX IF NOT EXISTS "idx_chain_obser_network_40de0f" ON "chain_observations" ("network", "block_number");
CREATE INDEX IF NOT EXISTS "idx_chain_obser_payment_2131f5" ON "chain_observations" ("payment_ref");
        CREATE TABLE IF NOT EXISTS "session_nonces" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "network" VARCHAR(40) NOT NULL,
    "session_id" VARCHAR(48) NOT NULL,
    "nonce_index" BIGINT NOT NULL,
    CONSTRAINT "uid_session_non_network_714128" UNIQUE ("network", "session_id"),
    CONSTRAINT "uid_session_non_network_9cd0d3" UNIQUE ("network", "nonce_index")
) /* A session's nonce index on one network (its `sessionRef`), sequential per network. */;
        ALTER TABLE "payments" ADD "log_index" INT;
        ALTER TABLE "payments" ADD "session_nonce" BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE "payments" ADD "payer" VARCHAR(64);
        ALTER TABLE "payments" ADD "confirmations" INT NOT NULL DEFAULT 0;
        ALTER TABLE "payments" ADD "approve" JSON;
        ALTER TABLE "payments" ADD "tx_data" TEXT NOT NULL;
        ALTER TABLE "payments" ADD "min_confirmations" INT NOT NULL DEFAULT 1;
        ALTER TABLE "payments" ADD "created_block" BIGINT;
        ALTER TABLE "payments" ADD "block_number" BIGINT;
        ALTER TABLE "payments" ADD "deadline" BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE "payments" ADD "intent_signature" VARCHAR(140) NOT NULL DEFAULT '';
        ALTER TABLE "payments" ADD "block_hash" VARCHAR(66);
        ALTER TABLE "payments" ADD "confirmed_at" TIMESTAMP;
        ALTER TABLE "payments" ADD "tx_to" VARCHAR(64) NOT NULL DEFAULT '';
        ALTER TABLE "payments" ADD "recipient" VARCHAR(64) NOT NULL DEFAULT '';
        ALTER TABLE "payments" ADD "eip681_uri" VARCHAR(512) NOT NULL DEFAULT '';
        ALTER TABLE "payments" ADD "tx_value" VARCHAR(78) NOT NULL DEFAULT 0;
        ALTER TABLE "payments" ADD "quote_rate" VARCHAR(80) NOT NULL DEFAULT '0';
        ALTER TABLE "payments" ADD "fee_base_units" VARCHAR(78) NOT NULL DEFAULT 0;
        ALTER TABLE "payments" ADD "quote_source" VARCHAR(64) NOT NULL DEFAULT '';
        ALTER TABLE "payments" ADD "quote_at" TIMESTAMP;
        ALTER TABLE "payments" ADD "payment_ref" VARCHAR(66);
        ALTER TABLE "payments" ADD "tx_hash" VARCHAR(66);
        CREATE INDEX "idx_payments_network_1db520" ON "payments" ("network", "status");
        CREATE INDEX "idx_payments_session_550ff9" ON "payments" ("session_id", "created_at");
        CREATE UNIQUE INDEX "uid_payments_payment_741d03" ON "payments" ("payment_ref");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "uid_payments_payment_741d03";
        DROP INDEX IF EXISTS "idx_payments_session_550ff9";
        DROP INDEX IF EXISTS "idx_payments_network_1db520";
        ALTER TABLE "payments" DROP COLUMN "log_index";
        ALTER TABLE "payments" DROP COLUMN "session_nonce";
        ALTER TABLE "payments" DROP COLUMN "payer";
        ALTER TABLE "payments" DROP COLUMN "confirmations";
        ALTER TABLE "payments" DROP COLUMN "approve";
        ALTER TABLE "payments" DROP COLUMN "tx_data";
        ALTER TABLE "payments" DROP COLUMN "min_confirmations";
        ALTER TABLE "payments" DROP COLUMN "created_block";
        ALTER TABLE "payments" DROP COLUMN "block_number";
        ALTER TABLE "payments" DROP COLUMN "deadline";
        ALTER TABLE "payments" DROP COLUMN "intent_signature";
        ALTER TABLE "payments" DROP COLUMN "block_hash";
        ALTER TABLE "payments" DROP COLUMN "confirmed_at";
        ALTER TABLE "payments" DROP COLUMN "tx_to";
        ALTER TABLE "payments" DROP COLUMN "recipient";
        ALTER TABLE "payments" DROP COLUMN "eip681_uri";
        ALTER TABLE "payments" DROP COLUMN "tx_value";
        ALTER TABLE "payments" DROP COLUMN "quote_rate";
        ALTER TABLE "payments" DROP COLUMN "fee_base_units";
        ALTER TABLE "payments" DROP COLUMN "quote_source";
        ALTER TABLE "payments" DROP COLUMN "quote_at";
        ALTER TABLE "payments" DROP COLUMN "payment_ref";
        ALTER TABLE "payments" DROP COLUMN "tx_hash";
        DROP TABLE IF EXISTS "session_nonces";
        DROP TABLE IF EXISTS "chain_observations";
        DROP TABLE IF EXISTS "chain_cursors";"""


MODELS_STATE = (
    "eJztXW1z2zYS/isYfUkyo2Rs2bJ9zc3NOInb+JrEHdu9dprpMBAJSTxTBEuAfple/vsBIC"
    "nxBaQJiZQpGJ8Sk1iSerBc7j67WPw9WGAHeeTNaeD+jB4GP4C/Bz5cIPafwpkhGMAgWB3n"
    "ByiceGIoDFzrBj2Ig3BCaAhtyo5PoUcQO+QgYoduQF3s89GnYIFCew59+oIAguwQUcCk3w"
    "Lsew/ApQRcfTx9PRofAZedpzhEzht+ZQfb7NKuP9vkIpHv/hUhi+IZonMUskt9/ZMddn0H"
    "3SOS/hncWFMXeU4OENfhFxDHLfoQiGPv5zD8UYzkDzixbOxFC381Onigc+wvh7Pn50dnyE"
    "chpMjJgORHnpfgmR6Kn5UdoGGElg/prA44aAojj0PNpeMnWB0bWNaXi2vr6uzasgalaUgl"
    "MqAmh2zs8yl0fUrE71/Ae8tD/ozO2Z+He9/j+6xwiEfxG/7n9PL9x9PLl4d7r/gNMdODWE"
    "G+JGdG4tR3cQlIYXwRgfoKZs+9RVzHymC/w9hD0JfjnRUroD5hcuvAnh5Y4b7S6C0AXwP0"
    "u4uLT/zKC0L+8sSB8+sC4r9+fnd2+XJfTAQb5FJx+PzLtYB/BbfjksCDDyqqnRFpR7+fGO"
    "huNHwFcWyeLDKHzB6pAF0S1M6cHB02APvosBJsfioPNkOMQ2FBWkb6AztD3QWSo52XLEDt"
    "JKJv0v/sop6zH+hcsO9jMuU10F+ffz67uj79/EvOynw4vT7jZ0bi6EPh6MujwjQtLwJ+O7"
    "/+CPif4I+LL2cCXkzoLBR3XI27/mPAnwlGFFs+vrOgk9HO9GiKWm7WPUioFZG15r0o28LM"
    "J4/cl4nfkYlOMamd6RDd4pu15jkvaWa5z7OcOveWmtNdEDPeSYV3wmOc6Y3U/U4hLMP+Iw"
    "ui3JnPokEB/jl7SujbMoc7CR0/Zy61Y6B/TzUrPbp63UN4twwOiwrHMGC/HMW+9iV7Cy7P"
    "3zOHm8M9gfbNHQwdqwJ310GLAFPk2w9WiGwcOkQSASUX+fHnS+RB8aMq0T9fXfBSXE+jaR"
    "CI4hHOIJnDuHxqMVoUj0AfzsRP4vfmd0qAY+bF9d9HIcHhQEKIZE8P61gRmw+0bDGyITXy"
    "2xyFCEDgI3qHw5sXBNxBarODgL9rDnkLSBTeskiXAGZsKQwpKVMj615kA2okuZWKqc6IaB"
    "fVdE+STDxs31h+tJigUGIm3Nm5T+W4FyUL4Ls7aa7Z87J/Xv9jNDo4OB7tHRydjA+Pj8cn"
    "eydsrHji8qnjOn7l/CfOlOSmp0ydxFDOIZmrKH5eSkMX5eioSUxf9C4zMf1RMaaPIeNeOT"
    "NXi2Adhc8Jb0/n97RSeOaXIObrcN1FEu/k31cXX6pCr4JgMfpybQr+BzyXdDYTg39OI9/m"
    "OINJ5HrU9ckbfr9/Dbr1XWRoc6BykViq/C8/n/5efC/ef7p4Vwyx+AXeFSZnDj2OWPndqG"
    "PNV0Jb5MyXR3aWNOewMS8dktgBzwN+je4rTFFBbC3bv0Okw9nv1/VavuQcPl18+SkdXlT9"
    "PPJR4KxJ7+YlDb3bYz5oGeLlYuXqKLrzaPBiQlB4C5MZkYeE2THDx+NCvBreMDi88BEI4M"
    "OCfUlfs6kXo4GHZwDyDDjygesDzMYIh+ctWBIKFAQs9ntJ74d89DA+/6ocN3ZwfUlI+TUb"
    "+dH7pSPMRC3x4vA/Mj7yn4UYNCefC2bYwK+D5AcwKzuNRRun8ut8SCmdKHEbE+Pc3zB1i2"
    "5jdfDaB7bgqW11xylnww/0IFwy/MCW+IHMZ6QpyhkRA3EDiHOf5zzIlaYkJ6OTHRntHx4f"
    "nhwcHS7Nx/JIndUoWwiCCGGPILwVBeUtiBkFbqDAWcdQAeqCmIFaAWq13H1eSgdupODknT"
    "Rx8k6qnbwTCc4y764WYqlTp4Uat15JSPENktB7NT5FKmDgbQAvXOBIVmbyK/MnRuMjOcQr"
    "IS38iQaYHpde+xDZbuAiGXbVupkTMvrZQD+nSLIEoVY5E4nnq5k29LHv2tBTzELl5LaYiE"
    "qpt53NQy1csuC1PSqWICuzPUMwGGzFDIz2mlBpbFSlIRDnzJICvXNOVUsKepNzQvYNjuhV"
    "HOcPpCmn/JBhfcYpHmwlxEHjakRIAQRkjgOe4XEJgOQGOYBinid6y5NC4Bu76xtCmcaSb2"
    "CKQ7H0kv8dsXvJahPbuOTjlYpfi5W52eWBmbdSLUX0/FZ7thSzmtWePXEY4tdIiWtcSnTl"
    "LDydeu83ob72q6mv/RL1Fcen7HqQWrzkTVbDX5N8k4prEU88TQYuBjIKQ74KQkXrS4Iahs"
    "wHDZT/oFL3D0qq73n4jn1V7fAhYG5VAp6rVihae5HtF40+jb3vpDw0RTappFhrVrKyZjI2"
    "mAyTIdlOhmQZ+EShhJOqRroop6H1H+01gpsPq+FKypCTyLZZlKmKeEHMAN4YcJsvwvWUNT"
    "wnZeBuDndEKF6g0EIL6KpBXpLUz4SPxk3yMGxUNebjcksXz01KMBD3BpHiZ7NCXEPwuyC/"
    "F4hCzt6o+ItZmX6s9OK31WalF7oPXHZ6jXxEXnI7+Yht0js7kn6QLHmJ8w+7m3Uys7zeLJ"
    "v1bM9imk0/I9PPqAfv0hb7GSVk1YZNjH6Jr6IR4p22Ljq7ReJGpXKB+MSwrkgA3abT1aCF"
    "sw/YhZDvvBbtluN+VQBPAWEBLp0zXADlmf65GIWct+AOTeYY3xDA7uveopCdRwRJ+jq3eW"
    "VTJ7BTVnxo6gT6UicgQFLQ63S8fjUC7RcW48l/ka3qCeaE9EO5/dSPKmf1dHyVRnnNELGf"
    "TVR1Oy+lHy/bvgnJNgu9QUqVLRJR/RAfjceN0hDjmjTEeLfLwA0hZ5iaHvr4hqnpHVOTxM"
    "3SSj0Vrua3OBD/EF/uQSPsO+Vsyn26JfyNtJl3NZdT0Uz8cWLneo7A1A0J5a2hA4YD4ksz"
    "IEhcNHDn0jmAPviWeaDX7L38NmRD+KZAyBFLNtgf7JMnWQDSxQ2kXcaSPcmS14N7OsVOYq"
    "Y7WC+7gyn6s5v4sH2zP1twYtNYa8qeA4VB6KouI5eKa4h++0GbWNKmAvZSQEN42196k35P"
    "rKo1TpX2WyK51pqbvoXELTerWsI0wY7ERFe3PS4J6kA41MW8XTQ+NuzDc2Af8l5r0w9FXk"
    "rDr0Xn3EOCYAvUw2q/5B1DvCnxkFe2HO/w/vTq/emHszraoctIesn6SALoLCNUHTenpErj"
    "nawnEXF9REhclECQ5/H/hjiazcHPkBD4lvc1wBElYIaBAHY2pzzk5U0N8J0PmHFg9kPaLK"
    "H9y5vdr/tgh4Y10a/4VwHodLyGRr+T5Qzx62ItXwuVFLFM1ixvaD2JvFue7nZfkGfbbqnk"
    "qm2YrNDOTZOve842fFofLEmzKR1RW1XArg/VstBWR4BMTXcDkJJ6ZAv5ToDdjdFKsqpnyd"
    "V0Qq3LWDBVMkkomNG/6kgwq+rNtmaClKJFQJNWdrzJXWwtAY63TXqZdE8ZAtEn+lW52Z18"
    "S6aWrtukFj6zy05Chf/J91RKtxuIgzpTFW+65/XVxnRcFW+653WbwjMbg3W+MVi+sZpSpY"
    "VEVEPI29dq8VlOWSMVwEuCOuRNCwo+aqLgo2oFH1V04JxAgiz2m2Xud4MdJgryWrTgbIB0"
    "uaW/g2x3AT0JilfssFdZU5GV0wK9pJriYHR8tCyk4H/U1VBcfT799KnsRpgmsT0oQDRNYh"
    "sZ6JabxP4VYYqsULEQLi+1xU0r9rrKqeRBPmni5p1Uu3knJTcvRozgKLTXQHolp90GIe2X"
    "dcaQqSersnItpKp65ubtSGaqUVFWyn/52Je9TXXf6pLo9r7Te1p9pJ9w+87im9UjhrH9vT"
    "t3aXO5nf1kTBFaP0AtC+++TVkzNIWO5/qKFjkrtfvAPY0xZnfnRpW4Mx/SKFTyMGWy2pmM"
    "/UbE7X4Nc7tfpm7pvUWxEn+YCmiHbweb/d5b8o4x1ctaMiIaALzt9SwMvVvoRap7rGbFdt"
    "98r/XdQ25wdLJvRaGrYgzyUhoobN4ijPebZBLYqEqbIM4ViNogCPGtREVrtspZiWxUGrw7"
    "4XwnNcAL1+cFQ1M3XIj6KJXlnFLZ7dmK/W5dvdaWc6Z1PBMP25KUe50PXRLVaLnsll1p9j"
    "2bQ6K0gXNGRL+EcPuMhlBSy48WExSqqXlR0mj5uloeI6mq6Hkpo+uP67qHZ5b4aQqfy5yM"
    "Rire2ocygA8yy1FLOksNhg4q23rgva6X94QeXsdkXnseXgzRekvpCrImQ9nnDKVZMvkspt"
    "lsFvQsptm0oN1aOXx+aVPjVR05KR2BbmXlUk2/HbJaSZwHXbnfjr5rk4eFxjt5rato+Cuz"
    "Iy2gbBoqP9pQucvVrIlyfxFVZJIlrbnzw7p1rbmCtMZtjhKpFwQIOSCmMl2AmizBAi95z6"
    "FvydBLNP32asgEmQ741IUeCFCYDpW1OuriFtLGwNlFrqs3Six0zZwSD5HwIqZxcI9IxZrW"
    "SWb1oHGXdthdyq2EzZgfJZNSEDTLgpTMi0JDoi4/90nPj9O484Psg18YUfvJTxuSJI0kFF"
    "pafLy+/mXZfwJPAUz3WHwYiib87KMKUrfpxXIDxgfg4Zm8l8WmF2y5f6H5Nm/t21yRfq22"
    "Y5tlXXtqwlqj9lm8Fq7HBOYlDRPYaybQiUKR4LIWKqmxgpR5gSpbuTDQZM1zqpdz5aVMtr"
    "wMLApDrJQtXwroly0fN+pgO67pYDsud7A12zA8Zdl66pIqhsAFMR1j4K5b9DuZfeU2ZLP1"
    "3aluWCC1C3rXp279xUmojnKz8/R4mJvfzrDZlnc4ohN8D0J894Pgm0UnWIDvkMPbLoojSf"
    "/NIbgLXRbA+sD1RbgqhrJYld3FJ1D05ZbvetfBPaT8thiczHd6RcFwFyLlr5nmdD77aKT8"
    "gGjsyNnwrPDQ9H3s0y4BfWxEKFn6EzAV4rBtBfX2G7dlCbOGAUJWxBQkFmODopkp4VpPXU"
    "jEDX/Ra/4iRJT5HpFPXU91sguiZqJ7PdEe4h0pRMNKla9SQUyHgLTrFKwHCbXWY69koobC"
    "Kn+mBE7KPFZeSj9V7oTMMoXrz+LzYONFwGmH9Vai5GXNSpQ+z3SBNGicBMiLGX60gSeQJX"
    "oa45yRMSCrk9DoVtoaT5mB1m2bqGGBd87qmZx0lhmN9qh9DbdLKkGcN5mq1H6J5rI8PCtP"
    "wBpbVWWK0jSBvtOdqooaW50HySr143mQ3P5jTYr808I78Ovlp3jD4RDZyL1FBPBufciJ8x"
    "Aks8FUci/Z1lUtXK/JllWFVRvZnY1MwqI/CQuzUdVWN6qKQgnfWq3WyXANHcLRXqPafD6s"
    "Zhfpcn1+9uEUgC6IGZKoEUmEfP7THatqf9bqbnxlye3v1/00xqSbrnyIQnmX1OopyMqYzd"
    "Jbn5IdqQRIXsSuUO+6EsBxSWxImEtJFE1+WVQ/sz9qZPZHNWZ/VDb7PEhgj2ARxDx5Nbsv"
    "ETWGfwMrs1tpmm0GUjpx96a90LOYZtNe6KmyB6Yhy0CB4N60IUtp6UBSEr4xwa3huoFOGe"
    "5TBr09H0iI7eTMsI7Phqsxj5HY1TC0vHD8uawa37CkqpoPZq+PvP9X9fcnI6Lht2c0HjeJ"
    "oMbj6giKnyvtX6GCcDJcQ3T3G8Wn+zXx6b6kdg2LraxU4tKMiIlHFePRJ+3N8v3/3YSxQA"
    "=="
)
