from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "chain_cursors" ALTER COLUMN "block_hash" TYPE VARCHAR(128) USING "block_hash"::VARCHAR(128);
        ALTER TABLE "chain_observations" ALTER COLUMN "session_ref" TYPE VARCHAR(128) USING "session_ref"::VARCHAR(128);
        ALTER TABLE "chain_observations" ALTER COLUMN "payer" TYPE VARCHAR(128) USING "payer"::VARCHAR(128);
        ALTER TABLE "chain_observations" ALTER COLUMN "token" TYPE VARCHAR(128) USING "token"::VARCHAR(128);
        ALTER TABLE "chain_observations" ALTER COLUMN "tx_hash" TYPE VARCHAR(128) USING "tx_hash"::VARCHAR(128);
        ALTER TABLE "chain_observations" ALTER COLUMN "block_hash" TYPE VARCHAR(128) USING "block_hash"::VARCHAR(128);
        ALTER TABLE "chain_observations" ALTER COLUMN "payment_ref" TYPE VARCHAR(128) USING "payment_ref"::VARCHAR(128);
        ALTER TABLE "chain_observations" ALTER COLUMN "recipient" TYPE VARCHAR(128) USING "recipient"::VARCHAR(128);
        ALTER TABLE "payments" ADD "wallet_request" JSONB;
        ALTER TABLE "payments" ADD "session_ref" VARCHAR(128) NOT NULL DEFAULT '';
        ALTER TABLE "payments" ADD "payment_uri" TEXT;
        ALTER TABLE "payments" ADD "authorization" TEXT;
        -- Written by hand: carry existing payments over before their EVM columns go.
        UPDATE "payments" SET
            "payment_uri" = "eip681_uri",
            "authorization" = "intent_signature",
            "session_ref" = '0x' || lpad(to_hex("session_nonce"), 64, '0'),
            "wallet_request" = jsonb_build_object(
                'to', "tx_to", 'data', "tx_data",
                'value', COALESCE(NULLIF(ltrim("tx_value", '0'), ''), '0'), 'approve', "approve");
        UPDATE "chain_observations" SET "token" = '' WHERE "token" = '0x0000000000000000000000000000000000000000';
        ALTER TABLE "payments" DROP COLUMN "intent_signature";
        ALTER TABLE "payments" DROP COLUMN "tx_to";
        ALTER TABLE "payments" DROP COLUMN "eip681_uri";
        ALTER TABLE "payments" DROP COLUMN "approve";
        ALTER TABLE "payments" DROP COLUMN "tx_data";
        ALTER TABLE "payments" DROP COLUMN "tx_value";
        ALTER TABLE "payments" ALTER COLUMN "token_address" TYPE VARCHAR(128) USING "token_address"::VARCHAR(128);
        ALTER TABLE "payments" ALTER COLUMN "recipient" TYPE VARCHAR(128) USING "recipient"::VARCHAR(128);
        ALTER TABLE "payments" ALTER COLUMN "payment_ref" TYPE VARCHAR(128) USING "payment_ref"::VARCHAR(128);
        ALTER TABLE "payments" ALTER COLUMN "block_hash" TYPE VARCHAR(128) USING "block_hash"::VARCHAR(128);
        ALTER TABLE "payments" ALTER COLUMN "payer" TYPE VARCHAR(128) USING "payer"::VARCHAR(128);
        ALTER TABLE "payments" ALTER COLUMN "tx_hash" TYPE VARCHAR(128) USING "tx_hash"::VARCHAR(128);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "payments" ADD "intent_signature" VARCHAR(140) NOT NULL DEFAULT '';
        ALTER TABLE "payments" ADD "tx_to" VARCHAR(64) NOT NULL DEFAULT '';
        ALTER TABLE "payments" ADD "eip681_uri" VARCHAR(512) NOT NULL DEFAULT '';
        ALTER TABLE "payments" ADD "approve" JSONB;
        ALTER TABLE "payments" ADD "tx_data" TEXT NOT NULL;
        ALTER TABLE "payments" ADD "tx_value" VARCHAR(78) NOT NULL DEFAULT 0;
        ALTER TABLE "payments" DROP COLUMN "wallet_request";
        ALTER TABLE "payments" DROP COLUMN "session_ref";
        ALTER TABLE "payments" DROP COLUMN "payment_uri";
        ALTER TABLE "payments" DROP COLUMN "authorization";
        ALTER TABLE "payments" ALTER COLUMN "token_address" TYPE VARCHAR(42) USING "token_address"::VARCHAR(42);
        ALTER TABLE "payments" ALTER COLUMN "recipient" TYPE VARCHAR(64) USING "recipient"::VARCHAR(64);
        ALTER TABLE "payments" ALTER COLUMN "payment_ref" TYPE VARCHAR(66) USING "payment_ref"::VARCHAR(66);
        ALTER TABLE "payments" ALTER COLUMN "block_hash" TYPE VARCHAR(66) USING "block_hash"::VARCHAR(66);
        ALTER TABLE "payments" ALTER COLUMN "payer" TYPE VARCHAR(64) USING "payer"::VARCHAR(64);
        ALTER TABLE "payments" ALTER COLUMN "tx_hash" TYPE VARCHAR(66) USING "tx_hash"::VARCHAR(66);
        ALTER TABLE "chain_cursors" ALTER COLUMN "block_hash" TYPE VARCHAR(66) USING "block_hash"::VARCHAR(66);
        ALTER TABLE "chain_observations" ALTER COLUMN "session_ref" TYPE VARCHAR(66) USING "session_ref"::VARCHAR(66);
        ALTER TABLE "chain_observations" ALTER COLUMN "payer" TYPE VARCHAR(64) USING "payer"::VARCHAR(64);
        ALTER TABLE "chain_observations" ALTER COLUMN "token" TYPE VARCHAR(64) USING "token"::VARCHAR(64);
        ALTER TABLE "chain_observations" ALTER COLUMN "tx_hash" TYPE VARCHAR(66) USING "tx_hash"::VARCHAR(66);
        ALTER TABLE "chain_observations" ALTER COLUMN "block_hash" TYPE VARCHAR(66) USING "block_hash"::VARCHAR(66);
        ALTER TABLE "chain_observations" ALTER COLUMN "payment_ref" TYPE VARCHAR(66) USING "payment_ref"::VARCHAR(66);
        ALTER TABLE "chain_observations" ALTER COLUMN "recipient" TYPE VARCHAR(64) USING "recipient"::VARCHAR(64);"""


MODELS_STATE = (
    "eJztXe1zmzga/1c0/tJ0xu0kTpzktjc3k7bZa27bZCfJ3u5sZ4fKoNhcMPIikZfb6/9+kg"
    "CbF0GQDQQr+tQG9Aj808Oj511/DebYQR55e7Jwf0KPgx/AXwMfzhH7T+7OEAzgYrG6zi9Q"
    "OPHEULhwrVv0KC7CCaEBtCm7fgM9gtglBxE7cBfUxT4ffQLmKLBn0KevCCDIDhAFjPodwL"
    "73CFxKwNWnkzej8SFw2X2KA+S85TM72GZTu/50k0lC3/0zRBbFU0RnKGBTff2DXXZ9Bz0g"
    "kvy5uLVuXOQ5GUBch08grlv0cSGufZjB4Ecxkr/gxLKxF8791ejFI51hfzmcvT+/OkU+Ci"
    "BFTgokP/S8GM/kUvSu7AINQrR8SWd1wUE3MPQ41Jw6eoPVtYFlnV9cW1en15Y1KCxDQpEC"
    "Nb5kY58voetTIn7/HD5YHvKndMb+PNj9Hj1nhUM0ij/w3yeXHz6dXO4c7L7mD8SMDyIGOY"
    "/vjMSt72IKSGE0iUB9BbPn3iHOY0Ww32PsIejL8U6T5VCfMLp1YE8urHBfcXQHwFcA/f7i"
    "4jOfeU7In564cHadQ/yXL+9PL3f2xEKwQS4Vl8/OrwX8K7gdlyw8+KjC2imSZvj7mYFuh8"
    "NXEEfiySIzyOSRCtAFQu3EyeFBDbAPD0rB5reyYDPEOBQWpEWkP7I71J0jOdpZyhzUTkz6"
    "NvnPNvI5+4HOBdsf4yWvgP767Mvp1fXJl58zUubjyfUpvzMSVx9zV3cOc8u0nAT8enb9Cf"
    "A/we8X56cCXkzoNBBPXI27/n3A3wmGFFs+vregk+LO5GqCWmbVPUioFZK11j1P28DKx6/c"
    "l4XfkoVOMKlc6QDd4du11jlLaVa5z6ucKPeWmtKdIzPaSYl2wm2cm1up+p1AWIT9R2ZEuV"
    "OfWYMC/DP2ltC3ZQp3bDp+SU21ZaB/Tzgrubr63AN4vzQO8wzHMGC/HEW69iX7Ci7PPjCF"
    "m8M9gfbtPQwcqwR310HzBabItx+tANk4cIjEAoon+fGnS+RB8aNK0T9bTXgp5tNoGQSieI"
    "RTSGYwLt6aj+b5K9CHU/GT+LP5k2LgmHhx/Q9hQHAwkDhE0reHVV4Rmw+0bDGypmvk1xkK"
    "EIDAR/QeB7evCLiH1GYXAf/WHPIOkDC4Y5YuAUzYUhhQUnSNrDvJBq6R+FEqojpFop1V07"
    "6TZOJh+9byw/kEBRIx4U7PfCrHPU+ZA9/dSnHN3pf98+Zvo9H+/tFod//weHxwdDQ+3j1m"
    "Y8UbF28dVflXzv7JPSWZ5Sm6TiIoZ5DMVBg/S6WhirI3Oq7B/mxUKf+LezKsuWLOJNZ8sQ"
    "7PZ4i7Y/tdrXieqSaIqTucfZFEQfnX1cV5mfWVI8wbYK5Nwf+A55LWVmLw95vQtznOYBK6"
    "HnV98pY/7x+DdtUXGdocqIwxlnD/zpeT3/IfxofPF+/zVhaf4H1ucWbQ44gVv40qx/mKqE"
    "O3+fLK1vrNOWxMUYck0sGzgF+jhxJRlCNbS/xvkd/h9Lfrai5fuh0+X5z/MxmeZ/0s8uHC"
    "WdPDm6U0Ht4eu4SWVl7GXC43pFs3CC8mBAV3MF4RuVWYHjN82jTEq+E17cMLH4EFfJyznR"
    "RAApiZllh5gMB74FLg+gCzQULjeQeWTgUKFsz+26EPQ8DWxeXzDaNBr4sGZGtPkViYX9OG"
    "IH1Y6sUenlriI+J/pFTmP3ImaYY+Y9uwgV8H8c9gEvcmIq0d2a/SJ6XeRYkKGQvq/lqtHa"
    "qQ5bZsH5wHzy23W45AG3dBD0wn4y7ozl2Q2knqAp0iMSjXQzmzSWdxLhUoGRqdpMlo7+Do"
    "4Hj/8GApRJZXqmRHUU4QRAh7BaGzKPBvjszwcD0eTmuICmjnyAzaamirhfWzVDr4THIKXx"
    "2kD8qBPpDhLNP0KiGWKniGk8s0DHyLJJ6/Cv0iITAI10MYznEoy0P5hekWo/GhHOUVkRa6"
    "RQ1UjwrABch2Fy6SYVfOnhkiw6L1WPQGScoUKvkzpni5zGlDH/uuDT3FMFWGrsNIVeKP29"
    "pA1dwlc57/oyIM0jTdyYLBoBNJMNqt419jo0olgbhnyg70DkqVlR30JiiF7Fsc0qvI7B9I"
    "Y1LZIcPqkFQ02Ir9CLUzFiEFEJAZXvDYj0sAJLfIARTzENI7QBAC39hT3xLKOJZ8Azc4EO"
    "WZ/O+QPUuWv9jElE9nM37NZ++mSwhTX6Va3OjlVYQ2ZLyaitCeKAzRZ6TkelxStKUsPB97"
    "7x3WMRvye1DKajiU27VsPkgtnhMny/OviMhJybWwJ54nLBcBGQYBr5RQ4foCoYZW834N5t"
    "8v5f39Aut7Hr5nu6odPC6YWhWD56plklZO0n1W6fPI+1byRxNk4/SKtVYlTWsWY4PFMKGS"
    "bkIlS8MnDCQ+qXKk83QaSv/Rbi24+bAKX0kRchLaNrMyVRHPkRnAawNu80JdT5nDM1QG7v"
    "pwh4TiOQosNIeuGuQFSv1E+Ghcp+kLG1WO+bjY9sVz43QMxLVBpLhtlpBrCH4bzu85opB7"
    "b1T0xTRNP0rB+GO1KQVDDwuX3V4jHpGl7CYe0aV7Z0vCD5KamCj+sL1RJ7PK662yKXh7Ec"
    "tseh6Znkc9+JY67HkUO6s2bHT0czSLRoi32t7o9A6JBxXSBaIbw6okAXSXLFeNNs8+YBMh"
    "33kjWjJHPa0AvgGEGbh0xnABlEf6Z2IUct6BezSZYXxLAHuue4cCXnlKkKT3c5MzmzyBrZ"
    "LiQ5Mn0Jc8AQGSAl8n4/XLEWi+izGe/AfZqppghkg/lJsP/aj6rJ7PX6VRXDNA7GcTVd7O"
    "Uunnl21ehKQbit4ipcwWCal+iI/G41phiHFFGGK83WngxiFnPDU91PGNp6Z3nprYbpZm6q"
    "n4an6NDPGP0XSPGmHfqs+m2Mtb4r+RNvwu9+WUNBx/2rFzPUPgxg0I5e2jFwwHxEszIIhV"
    "NHDv0hmAPviWeqE37Lv8NmRD+MFByBElG+wPtuVJCkDaeIC09Vh8bln8eXBNJ99ezLQM62"
    "XLMEV9dhMdtm/ypwMlNrG1bth7oGARuKqV5FJyDdFv3mgTJW0qYC8JNIS3+dKbZD+xymqc"
    "SuW3hHKtmpu+mcQN965awjTBjkREl/dFLhDq4HCosnnb6IxMEPSU+3+viJ67/7dc3+xZ1M"
    "N4eF6ChydrGdTdjLNUGu7Irft3YgQbcO+szq3eMsTrOneyzJbx7Xw4ufpw8vG0yrXTprdi"
    "6VmTOCnSXrdy30TiuKp9ovgkJK6PCIkSPwjyPP7fAIfTGfgJEgLf8d4ROKQETDEQwE5nlL"
    "sVeOMIfO8DJhyY/JA2pGh+enMKeR/k0LDCwyD+VQA6Ga+h0G+lZCT6XKzlZ1HEujwML6M1"
    "JSTV1sQagfrt0nS7/UBebEurgqq2YUBIOzVNXluebqq1PliShl46orbKMl4fqmUys44Amb"
    "z5GiDFOd8W8p0FdjdGK45cn8az6YRam7ZgwmQSUzDFf+WWYJrV652PBSlF8wWN2wXyRoKR"
    "tAQ4OrRqJ+5QMwSiI/frYkNB+YlYDc1bp94gdbxRHG74gx9mlZzwEBl1pvLAdCjsq4xp2Q"
    "dvOhS2GyY1J7K1fiJbtnmdUjaLhFRDyJvnarEtJ14jFcALhDrEpjs7wMOaQIIs9rNlGniN"
    "szxy9Fp0Oq2BdfHkBAfZ7hx6EhSv2GWvNHUlTacFenHSyv7o6HCZr8L/qEpVufpy8vlzUZ"
    "MwvXh7kOdpevHWktEN9+L9M8QUWYFivmGWqsOzQXbbCqtkQT6uo+kdl2t6xwVNL0KM4DCw"
    "10B6RafdOSzNZ89GkKnHq9J0DUSreqbpbUlwqlZeVuIC87Ev+5qq9uoCaXf79K5Wm/Q2HS"
    "/XkShr63C59W2nIvH2s/uaVhN0PNdXFBZpqu0H7nnkxDOerJzfgXsUjGhFVGzbkeESsdxv"
    "gJlSMsOB+99lkLhuXUuBUAffYdd1LffQ8xCXCKKwsAh/eapgkXKjRMHtWYdWjyQJA1flG8"
    "iRmS9A/QuYuz5P3Lhxg7mQJCqli1La7pSavXaVmsZKF5N8iomHbUnos0pbLJBqVBrasdJI"
    "H6wZJEqHFadIdBAtHWgzgk8tP5xPUKDG6XlKw+jrMnqEpCqvZ6kMu9didw9PLfHrFDbNDI"
    "1GXN7YdsmUOpnwqLTrpTLDcK2ca9dV955R1WvZf9WcqhdBtF5tU47WxIv6HC8yNWwvYpnN"
    "CTkvYplN39XO8pOztSaqAQV9gW6klKSiAQpZlXZmQVdugKJvsegw1wkly3UlXW5lcqQBlE"
    "0X4Se7CLdZXhgz97nI6ZHUGGbuD6sKDTPpQbX7zsRUrwgQdEAsZVIRGNfEgB3eBOZbPPQS"
    "3Xx7PWSEjAd86kIPLFCQDJX1nmnjEdJuuOmqw9UXJSoPU7fES8SuEdMtt0euxYpeNqacy6"
    "hLW6wuZUoTU+JHSaTkCE2RhpJ4UegQ0+Z2HzdhOIlK8WUbfm5E5ZafdIiIK/sVegx8ur7+"
    "edkQAN8AmBws+DgUnefZpgoStenV8tTBR+Dhqby5wKYTNtxQzuzNne3NJUHYcjm2Wey1py"
    "KsMdc+s9eC9TyBWUrjCey1J9AJAxHgsuYqobEclfmASntrMNBk3UzKi2uyVCZgXgQWBQFW"
    "CpgvCfQLmI9rtRQdV7QUHRdbipqzB54zQzVRSRVN4ByZjjZw2z3TndRhaht6s/U9nm2Yc2"
    "rn+K5P7dPzi1Bu5abX6WkzN3uGX71z3nBIJ/gBBPj+B+FvFq05Ab5HDu+DJ67EDRGH4D5w"
    "mQHrA9cX5qoYymxV9hSfQNEoWX7UWwvPkPq3xeB4vZMZhYc7Zyl/TXUL89mmkfgHRKc97g"
    "1PEw9NI74+tW3vY2c4SfnbgrEQh60T1JvvpJV2mNU0ENIkJiExbxvkxUwB12rXhYTc+C96"
    "7b8IEGW6R+hT11Nd7BypWeheL7SHeBMG0UFQZVfKkelgkLYdgvUgodZ63isZqXFhFbcpgZ"
    "OyHytLpR8rt+LMMonrL2J7sPF8wd0O61WiZGlNJUqfVzrnNKgdBMiSGf9oDU0g7eipjXOK"
    "xoCs7oRGd9KGcMoeaN3O7Rnm/M5pPpM7nWVCoznXvobn1xQgzopMVdd+wc1leXhaXIA1zg"
    "5KJaVpAn2rRwflObY8DpJm6qfjIJkDoeok+SeJd+CXy8/RCbABspF7hwgg7BtEThSHIKkT"
    "f+Jnyc4SamC+OmcI5ao20kfNmIBFfwIW5uSgTk8OCgOJv7WcrePhGiqEo91aufl8WMWxvs"
    "X8/PTLKQCdIzNOolpOIuTzn+5YZQdmlvdFLFJ2f4Dy8wiTVhojzhGFXMSrLEGaxpxe3fiS"
    "bEkmQPwhtoV625kAjksiQcJUSqIo8ouk+on9US2xP6oQ+6Oi2OdGAnsFiyCmyavJfQmpEf"
    "wbSJntCtN0aUjp5Ls37YVexDKb9kLPFT0wDVkGCg7uTRuyFEoH4pTwjR3cGtYNtOrhPmHQ"
    "27OBxLEd3xlW+bPhasxTTuxyGBouHH8pVeMbplSV+4PZ5yPv/1W+/6RINNx7RuNxHQtqPC"
    "63oPi9XAI7+6gUEI6Ha4juXi37dK/CPt2T5K5hn0qzAcrt0hSJsUcV7dFn7c3y/f8s/2gJ"
)
