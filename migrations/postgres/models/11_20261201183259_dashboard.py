from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "audit_log" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "actor" VARCHAR(80) NOT NULL,
    "action" VARCHAR(64) NOT NULL,
    "object_id" VARCHAR(64),
    "details" JSONB NOT NULL,
    "ip" VARCHAR(64),
    "created_at" TIMESTAMPTZ NOT NULL,
    "merchant_id" VARCHAR(40) NOT NULL REFERENCES "merchants" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_audit_log_merchan_bb33bc" ON "audit_log" ("merchant_id", "created_at");
COMMENT ON TABLE "audit_log" IS 'Who did what to a merchant''s account, from the dashboard, the API or the CLI.';
        CREATE TABLE IF NOT EXISTS "refunds" (
    "id" VARCHAR(40) NOT NULL PRIMARY KEY,
    "livemode" BOOL NOT NULL,
    "status" VARCHAR(24) NOT NULL,
    "network" VARCHAR(40) NOT NULL,
    "crypto_currency" VARCHAR(16) NOT NULL,
    "token_address" VARCHAR(128),
    "decimals" SMALLINT NOT NULL,
    "amount_base_units" VARCHAR(78) NOT NULL,
    "reason" VARCHAR(500),
    "metadata" JSONB NOT NULL,
    "claim_token" VARCHAR(64) NOT NULL UNIQUE,
    "address" VARCHAR(128),
    "from_address" VARCHAR(128) NOT NULL,
    "watch_from_block" BIGINT,
    "tx_hash" VARCHAR(128),
    "block_number" BIGINT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "merchant_id" VARCHAR(40) NOT NULL REFERENCES "merchants" ("id") ON DELETE RESTRICT,
    "payment_id" VARCHAR(48) NOT NULL REFERENCES "payments" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_refunds_status_d72c91" ON "refunds" ("status");
CREATE INDEX IF NOT EXISTS "idx_refunds_created_7b2344" ON "refunds" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_refunds_merchan_f78e10" ON "refunds" ("merchant_id", "livemode", "created_at");
CREATE INDEX IF NOT EXISTS "idx_refunds_network_b1c518" ON "refunds" ("network", "status");
COMMENT ON TABLE "refunds" IS 'Money the merchant sends back for a confirmed payment, from their own wallet; see';
        CREATE TABLE IF NOT EXISTS "users" (
    "id" VARCHAR(40) NOT NULL PRIMARY KEY,
    "email" VARCHAR(254) NOT NULL UNIQUE,
    "password_hash" VARCHAR(200) NOT NULL,
    "role" VARCHAR(16) NOT NULL,
    "totp_secret_sealed" TEXT,
    "recovery_code_hashes" JSONB NOT NULL,
    "failed_signins" INT NOT NULL DEFAULT 0,
    "locked_until" TIMESTAMPTZ,
    "totp_last_step" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "merchant_id" VARCHAR(40) NOT NULL REFERENCES "merchants" ("id") ON DELETE RESTRICT
);
COMMENT ON TABLE "users" IS 'A person who signs in to a merchant''s dashboard; see `app.dashboard.users`.';
        CREATE TABLE IF NOT EXISTS "dashboard_sessions" (
    "id" VARCHAR(64) NOT NULL PRIMARY KEY,
    "second_factor_done" BOOL NOT NULL,
    "livemode" BOOL NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "last_seen_at" TIMESTAMPTZ NOT NULL,
    "user_id" VARCHAR(40) NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
COMMENT ON TABLE "dashboard_sessions" IS 'A signed-in browser: server-side, so sign-out (everywhere) takes effect at once.';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "users";
        DROP TABLE IF EXISTS "audit_log";
        DROP TABLE IF EXISTS "refunds";
        DROP TABLE IF EXISTS "dashboard_sessions";"""


MODELS_STATE = (
    "eJztXWtv27ia/itEvkwKuEXq1m12ulggTTMz2UmbbpLuHJzpQKElOtZGFlWRips9O/99Se"
    "piXShFtCVbZnlwgGkkvpT8kHr53vjwXwcL7CCPvDgJ3N/R48HP4F8HPlwg9o/SnRE4gEGw"
    "us4vUDj1RFMYuNY9ehQX4ZTQENqUXZ9BjyB2yUHEDt2AutjnrU/AAoX2HPr0JwIIskNEAZ"
    "N+B7DvPQKXEnD928nz8eQNcNl9ikPkvOA9O9hmXbv+3SadRL77LUIWxXeIzlHIuvrzL3bZ"
    "9R30HZH0z+DemrnIcwqAuA7vQFy36GMgrp3OYfiLaMlfcGrZ2IsW/qp18Ejn2M+as/fnV+"
    "+Qj0JIkZMDyY88L8EzvRS/K7tAwwhlL+msLjhoBiOPQ82l4zdYXTuwrE+XN9b12Y1lHVSG"
    "IZXIgZpcsrHPh9D1KRG/fwG/Wx7y7+ic/fn66O/4OSsc4lb8gf99cnX628nV4eujZ/yBmM"
    "2DeIJ8Su6Mxa2/RReQwrgTgfoKZs99QHyOVcF+j7GHoC/HOy9WQn3K5NaBPb2wwn01o7cA"
    "fAPQ7y8vL3jPC0K+eeLC+U0J8S8f359dHb4UA8EauVRcPv90I+Bfwe24JPDgo8rUzol0M7"
    "93DHQ/M3wFcayeLDKHTB+pAF0R1E6dvHndAuw3r2vB5reKYDPEOBQWpFWkP7A71F0gOdpF"
    "yRLUTiL6Iv3HPs5z9gOdS7Y+JkPeAP3N+cez65uTj58LWubDyc0ZvzMWVx9LVw/flIYp6w"
    "T8cX7zG+B/gn9efjoT8GJC70LxxFW7m38e8HeCEcWWj5cWdHKzM72aolYYdQ8SakVkrXEv"
    "y3Yw8skrD2Xg92SgU0waRzpED/h+rXEuSppRHvIop8a9pWZ0l8SMdVJjnXAfZ3YvNb9TCK"
    "uw/8KcKPfOZ96gAP+cvSX0bZnBnbiOH3Nd7Rnof6czK726+txDuMycw/KEYxiwX45iW/uK"
    "fQVX56fM4OZwT6F9v4ShY9Xg7jpoEWCKfPvRCpGNQ4dIPKCkk19+v0IeFD+qFv3zVYdXoj"
    "+NhkEgisc4h2QB4+qtxXhRvgJ9eCd+En82f1Ia8Ygcl17guwNZNCS9N2qMh/BWlpc0ezIg"
    "8sccA8d1wHIOKaAYwHxsA9o2jnw6ArMQLwCdI+BAMp9i9jNH4s+Tz+cAh+Kfpxfn1UhJ57"
    "0/HUL5s/xd5Ezrv5TiK+/du3OfKkRY3Kq6Sb7b4XpEd/wVnv/bePzq1dvx0as3x5PXb99O"
    "jo+OWVvxvtVbb5uCA+e/cje/sACkfn992IXNUByqrLWZgIar7HGbVfa4fpU9rsQAGFqJtl"
    "bAV67fdQC4e78fT/8H2ar2YkFoLZgH5gP0jbKDKHQ9iWXyn9eXn2qihSuRss/l2hT8H/Bc"
    "0puJePDvs8gXHxKYRq5HXZ+84I/9j4N+LRYZ4Byigv+VAn348eQf5TE4vbh8X3aseAfvSw"
    "PiBkpJicBMdBNGNHEGE2d46osycQat4gx9+svsM3H90ygkODyQuMz526Mmr9nmDS1btGxZ"
    "SvAH8z8R82h9RJc4vGcO7RJSm10EfM445B0gUfjgPiACmNKgMKRE5iCv18kGpQTJo1RUTk"
    "5Euyxg/0UFUw/b95YfLaZI4uQ2RRnKkk/HG/ZA7Wwz5FAehDkkc5WJX5TScKl9OT5uMf1Z"
    "q9r5L+7JsOYWJtNYC4mT8PScLwhvb9ofaTXnQ2Qjtmzz6YuU3OaK4DCcZ/48bZznOfQ4Yt"
    "Vvo6nQbCW0xTKz7Mre1plx2CzmGhNZFPQGfa9RRSUxHUIXTf7z2T9ummd55j5fXH76NW1e"
    "nvpF5JmF77P3UdI+eRmjeDpXPFHgrBldKkpqGF3a0yI1SbQpS1RXPPEd+eiXU4LCB5iMiN"
    "xRz7cZPe2t41Xzli77pY9AAB8XiGedHcQgdimDCvpkxjxuzJzuJUIBgETknBOvFxC4BKyd"
    "6wPM5IV9+g5kJRO04tP38pSvfsCED+n3ERAdsl80ils9ewF+4Vny5AEEQN+JH0HAbfIebB"
    "Wb3fLdCCLLnrwSmzxsftXGE/7Mu/30e+YFefjOEt8n/yPnIP1VScTn5AueLGv450HuzUxe"
    "fqB5+SGEina9JPRcn3/PfpcKvmn77YHLP59UzRUAzl3vJBTxpk0koryE5gIRb+RxCBN4M4"
    "G3QcDff+Att0q3BTonYlBuh3LBACriXKtQCjI6aZPxy9dvXx+/evM6UyLZlSbdUdUThJmi"
    "7BWEPagwf0tiZg63m8N561sB7ZKYQVsNbbVCj6KUDtHHkjHdBunX9UC/luEss/QaIZYaeG"
    "Ym11kY+B4pVRJnAgbhdgjDBd8UUYX4C7MtxpM3NfXamZAWtkULVN9WgAuR7QYukmFXPz0L"
    "QmaKtpuiMyQhyGicn4nEjzs5behj37WhJ4lDNCV8C3JbzPmmsc69TfkuXLLglXQqyiAvs8"
    "X4Wl+JxaImGB+1iV2yVrWaQNwzlep65xLrCC8Gk0tE9j2O6HXs9h9IU4nFJqPmTGLc2Eri"
    "CK1rfyEFEJA5DnhaziUAknvk8C2uzKV4BwhC4JY99QWhbMaSWzDDoSAG439H7FmySuAuul"
    "xjf2yevGrtvbI/HhdZR86r4SIbiMEQf0ZKocdMoi9jYXfTu/tknHwqNxhj8jncpyGWBNyq"
    "9lj+xjDRjQMArD9ILV67K+PvaMh3SsW18NZ2k/SMgYzCkDOgqMz6iqCGMYlXLSb/q9q5/6"
    "oy9T0PL5nNYoePATNaE/BctYr3xk62X4S6m9W0l3LTFNmkMGitUcnLmsHYYDBMImo7iSgP"
    "29BTMndWEls0eLiXX7V2sqvDNHUylz0KJdHUeoTLchqurOOjVlOZN2uI8lWnM4lsGxGiin"
    "hJzADeGnCbkw54yjO8IGXgbg93RCheoNBCC+iqQV6R1G95HE/aMNywVvWYT6ocN56bFBIh"
    "bmkjRZOkRlxD8PtI2ywQhTzuqGKL52WGsStPKy4t9D1w2e01MmlFye1k0rYZmNyTxFkKUi"
    "Pl037lS80orzfKZoftDzHMhr/N8LcN4FvaIk+85/rM0qZosSE9/AXr55x1oxHosjDrhih9"
    "XmUddQGpz9KgDyl5fENtUKXNqKk4KKOjV6wOOgGE6SDkPHeZtxLiJUHhz4BzFaDwOXEdJk"
    "GwaPIcRxQcInb9ccmJAJ8BCu8RAWg2Q8ylghRgprxkBxB2/wBzOOEwaIDrC4IIYi/AdLMg"
    "v7cc7KuWBsk7MFXF7YuE9qsmK7uyt3jvl79sPKnRep6UOAWPIOSve4JeTtYM9aCHOmJmiq"
    "LDnBMxzrK6s8zh68BR/pJ0s2dgt3WSc5Os4CCfnlyfnnw42xW/+dkDEq9c8WTiG43uC3pI"
    "fdAWLosPWEfId56LM8zjQ+AAnjFHYsH8AYYwoHyDwly0Qs47sETTOcb3BLDnMvNGHNNFZL"
    "5Klz2b7Q17pZVGDd7MfpnSe7+9QYCkMK/T9vptbdDm+K9Bo9x9TaVqwcLuihU0KhgOEfvZ"
    "RHVuF6X0K8rpXoXkT+C9R0pbRiSi+iE+nkxa1aBNGmrQJvu9e91UY5g0/QBtfJOmH1yaPv"
    "GbpVvgVBLQf8SO+Ie4u0eNsO81Ef0bgiGdsgXiQBK3Wd0cNcVu5mmzlvGbmzkCPBIO+HoD"
    "IOA00TzIwn/RXYgj9peHcQBC6I/Acu7ac54UBkGI+Q4Nfhm4tBq86abbr/5XP5lLaUznET"
    "AXn59q52OAeSiH89fbiPfhIXYxDgy5BDhRnM3mTBd8DyBruQyZl0sAz2d/9UVuG8zQEsTZ"
    "zZj+/vYeEgIB+y0Uh7fAZu9BkeexX/AtchEFOKJT/D0+eJ41Q9BJOn8BOHt/iJcx3774ce"
    "JHH7J3AsHqtz37WXDpCzuXVyWzV13ORVCKvcBj+qqcxYP/3o3P7IMLJe89bW/iUspxKf7R"
    "rWER5sRMBmrQ9mDyAat8TjkRDe3AzraYDIQj6nzlEF+JbINsHa42alyP8052nMJQWJhnbs"
    "iWUDaFAzYMiDM6QZCESMDSpXO2YoDb3As9Z3bx7Yg1CTz4iBzB9MT+4NaAfInu+gHS02Bg"
    "4PL4QmKe8khD+cQXpZSKOcWF39vGKS6K8aRNYkgDV3R9BJHSWOeMvQcKg9BVJaCVimuIfv"
    "dBU8GEpwJ2JqAhvN0TLaTriVVHjVarvyWSa5FJDS0k3fGRFxlMU+xIVHT9waQVQR0C/k0+"
    "Rh9HkxIEPaR6AO9KaNd1vHJ7c2BVBybD8iN41EXPoO1iXJTScEXuPb+SINhBeuUkcH9HOg"
    "X4R6XkSnGyDanCM9sLKQlS5PdJ1scmirsy252Cy2V4IH+ZsE7H+9vYfz2PgMNrBnqAfiLg"
    "dtX37bN3IuKdNGU3Y9JQ4JJKTKLzJ3z12Q03BBRT6L0A15RNcEfsXeN72MRaIQ7EFekAwN"
    "NoDOv6UEZ6aFiiepLzdDeLZ5gS0c5D8dnAVMC+XkDPq3U/8nI6kdi+Gr99k/kc/I8md+P6"
    "48nFRdUi220madc4lsJBreLek4a496RCrZR/MwWYS2I6+HNFsCetkgyThiTDRHL8yBoMy4"
    "ZcWYVcmf1IatUdSdYUwi8J6qSGt8wl/i2CPnWpZJLXgp8X0Qn5ziJvCd+9MCfV5nVZUid4"
    "tzyxi1Z46xh+0XbXT4N3s3OiIWxAVtwnG4YNJEct7Rn0beMHxVk3pPhBVhkriR/kq2br4w"
    "dp4WlrdptpRJjTTki8cTP26Ok8xNHdHPzOC+/e8SOr2Lwg4A4DAezdnPKyBF7Fh5c+gI4T"
    "sg5k52B1371hthm6o2+c0n75fuPPxco+iyrW9dvoZLKG/7c5G7nGRruI/fgwPWiDYo8hyG"
    "mtp4FK3r25k+2ZqkflQTkajum/XynJ7WqiH/bI0kpObcOdM9rl04rec+S41PLw3YYg8W4u"
    "4l50hEl6tuz6cOnrbBVQW7HWrA9VRo6jI0CGXLYFSCFi9qKzIUZXohNdIeKMVxsCpBknWA"
    "GehIXKQr4TYHfj7y3Z/3iW9KYTan1Gt1I1JQlu5TRYfWwrryzbVcZAStEioMm567nKFfF/"
    "BA6TwyhHrMU98p9VT2avxrQ67LcNA1rSE2+eFGCzJuWqlzwXGr9raNMGE7sfNYTKDG2aOR"
    "Veo1Phc6qqdfB3JaJh/LerYHs+4JU/0lqtVqYqqiHk3c9qsYKnIXMVwCuC+hWCvRy3WSNZ"
    "q3q8xxVuwKQqYwoJsnjlkQT0L+c+HU/eNFZ1FOW1KO1ogfXbKtUist0F9CQoNhfe5uW0QK"
    "/Dwttkis1cSC27Jn7zdN1RUVwnjLdcfBQDucaaWBHUcEXsuIj0W4QpskLFzdpFqe2hfHDU"
    "V065CPJxG0vvuN7SO65YejFiBEehvQbSK7ktYr0dqLunHoghU88h5+U6yCAPzNLbk4Rxik"
    "njptY0WuZjX/Y1Na3VFdEdVl7s9SIdMnsycJEqo0pOSDtV1ov7NENofd+pKrz/031Nrwk6"
    "fDermrLIS+0/cLvRE2nJW4hmKpqiJNZJrGVAyYheVEW6tilCXRLbqVoeNsDMKJnj0P3fLJ"
    "9chLieFKgiqEPscNukQEvoeYhrBMHKVoW/vk66KrlRlfT+jEMv5dCpao5CV+UbKImZL0D9"
    "C3CQoE9YJ3shEe1pBDRbVJPgLvNckPsg4yRrk7zIS+/SkDzq9H/bNuKzOLsv2xncZhwyUT"
    "MI6w4Ck/fJjB/I6Vszj+/uk/hUTeUu8g4MZV+bI86lYfrm4iJ5jN7gK60oWiIUWE6kCnJB"
    "ziDdGuk7qBrQKsgZJb5+OCy2BikKF0o7TiuCxpFa35FasBWQvcLMDRciMKCynVQqu70P4m"
    "VfBn1PO0qnHrYllYxNwd+KqEY02VuOAdPv1hySuYq/mhPRIVKwBUdVzFPLjxbTeONP+5le"
    "ljQTfd2JHiOpOteLUma6t5ruHr6zxK9TWDQLMhrN8s6WywA+ypRHY5pOqjPMrJXP2nXNvR"
    "2aej2no7sz9WKI1qMPKcma8q8hl38ZmpgfYpijwFlzmIuSZpgHPczmDPitbTc0rK6G1XXX"
    "0NdRVYzas7peMZ1zdX56cyDVIx2gnOdm1RTekvqswbcNK5uh85Hh3SvzyhXD58JduFLuld"
    "XNURP7CsfY8ng7BQIWLvRcCIFpZN8jCg4FCwq/Li7fPhsBwlYS5IDpI+An/jyC5ITulDI4"
    "fJBRC3fa+1f/q38Sc7WkPd2jgAJI4kOM2DM9BBaY16MBlx9iBGYMYQDv2AiCw19Pr05+Iu"
    "DrAWvMVAd1bcjuhaH7AL2vPjcZvx48+1kww0CKF64NooA9mYIAhdnZzlNM54CTNhIAfQeQ"
    "ALGPhD1sxEllrv/rwqVI3Pgcm1Psygv+0iFeguUck+z15uylA0gI+83sNWH8osmP4vIL+A"
    "imCMRfr8OPXIL+IxAG7kH2naxFsBw/RCmQmUloxx7TIfdvPYEMH1upu/OLh2FNZCgnUwJ9"
    "xoX2V6XKcP5w+eX9xRn4fHV2en59nqRkM29G3OSXVpUHV2cnFzLbrH5h61Vvx6ucTGln61"
    "+Dxl4ttE9r649MOz0KbZeu9Ew5cg3Ef4k4VB6CLOoFktrcEZiFeAHi89w4WXtcOC3orioa"
    "u/MnfPVjbR//zFuh3dbi2GpJl8WZtSR0XIZFa7eE84ZFy7Bo7W6Zb7MbfVy/G31c2Y1uWL"
    "QMi9auITcsWltFu4/EsaF96o32yTCTdVNUzExronay6kpCPy3Qy6GqC0QhN5yrINeXbOdl"
    "zOFABau5iyJu24PuwhLLmpLhURTTzk/sntZpDWPDmBnKbDMhXqxj1pXldDSi+8B7Cak9tw"
    "R6a2xRkElrVNZqdinoN+HNLoXdT/T9qp/cpg2jU12dKZ/8IYbZlE9uLc6cMhipIV2U0hHo"
    "vssnTWVfTml1VNknmdcdwKvfyYVldItfs3LZZJ/VJUlN8CfBbCypMSncHzVVmhRIklsWnJ"
    "ykh6b9RICQA2Ik0yPUkpwmOHQpAbdJ0ys0EyV9vGTOpy70RAVd0rRaI9jPIyQVJcW6kFUh"
    "crlkRLxEsqP0r7ZldbLVo8nvka4bEm8nma3DjQ9u0depry4x6Xizy2SfzaRCaUlO/SiplJ"
    "KgFinL7amXgRSTigN+Jct8evBv/fKenS7cZlVnyyVhC+xyjgFhtiBhay4/JxVmVZ9sMXYg"
    "mU8x+0W5g1Gzay/E4yQnr3bc9waV7qays8OFoH7tRQvoSog765HOBLQDezxpVWg4aag0nF"
    "QypHybCLNUHOU0RkVQw+W3ww0cuZIX7Cmd5pS21xDfPmoMaWARZIeIsv9AT0a+XE83LpfW"
    "IUvXFL3ug3U8RDbmW+0YuA4SKgIpcUbWyQ+jGIk/T5tipBlbL5FjcWPKVeIXqgrukGDoaG"
    "MvoDNSIZ5zZrhEPpVZLs1ptLKsIRUach5NrBceJGy1oChQ86ersnv99ZhyBPOBmXoEM8ym"
    "HmF48RWTJh8cAU4WjbSSHMaGXDgf0v70I3nqlRXnDzSdY3x/QilaBFJqnFKLUVOQfBm3ZY"
    "uOaKxAkvPbzc1nkIgBPAOQk7O43AMeCVqEPGUCD3AnN4GH7+S8OJt22HFk3CSrt5asrimT"
    "rk/sbVYdPTQ10rU3z5a9cD0TtChpTNBBm6BOFIol1pKdbVO/U7ooZT6gWrIQEchVQLYkpd"
    "HGjc6ARWGIlYj3MwEdMhpb2DnN1EvAHoqsKXYkDCH1eaSKoA6AbzuFlJqkikGBkpgJCqgH"
    "BVIIOwgKJN7Th1yPe4Z929hAad4VYgOnJ9enJx/OdlXkXR6Eei83P05Pu7nJT3bblnvfMJ"
    "8TR3SKv3PK0pgMFT1wwlK8RA6v4hJXfCfALqf9W4Yuc2B9UeE1T5oyX1UcBgtFSrbq+/b0"
    "DGnBt2icjHfaoyj5LnnKf+boz3y2aKTxgYxRMC88KhIOmvqz3dafDZHqTlKkwJmCOWxbQb"
    "37sp18wKylg5AXMQcblX2Dspqp4NocupCIm/jFoOMXIaLM9lir5qQkagZ60APtIU4dp8wd"
    "VRLTwSHte09SUpyzTvRKJmpCWJJSOY6TchyrKKXfVO4lmGUqpn6I5cHGi0Cc6rHWiZZFWV"
    "N8OuSRLgUNWicBimImPtrCEsgHelrj/KA3gUvfQWiBXwcR6LMHvclF8vNMHnSWKY3uQvtn"
    "uR51hbioMlVD+5Uwl+Xhu+oAqJT7VYvSNIF+G8V+2Yytz4PkJ/XTeZB0frTeH58dfvTl6i"
    "I+hC5ENnIfEBF72pET5yFIbvt68iz5nviN++vwhCSTsDBHIQ1JxUgrK7s7CikKldgJkuYa"
    "GoTjo1ZkNbxZw275KmFN/uUUgC6JmSBRqyAR8vlPd6x4uajiXb9huyq5/a3au1EmvWzKNo"
    "d2DG5I9qQSIPkQ+0K970oAxyWxIlE/GUgiqp/a74WSJqZwuEuoT5T0vkTUKP5NjgbaqzSN"
    "4dk3+9rNMJt97YPLHph97QcKAe4O97UXSsI3DnBruG+g1wj3CYPenh9IAtvJnVFTPBuu2j"
    "wVxK6HoeON4z/KrvENS6rq48Hs8yGKsbOciIZrz3gyaeNBTSYNNKqTSgF7IKH/ajhkMpAx"
    "fumA7stW/unLBv/0paR2DftUWg1Q75fmRIw/quiPVuyqbW5b+/v/AXetbAk="
)
