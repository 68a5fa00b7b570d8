from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "line_items" (
    "id" VARCHAR(40) NOT NULL PRIMARY KEY,
    "position" SMALLINT NOT NULL,
    "name" VARCHAR(250) NOT NULL,
    "description" VARCHAR(500),
    "currency" VARCHAR(3) NOT NULL,
    "unit_amount" BIGINT NOT NULL,
    "quantity" INT NOT NULL,
    "amount_total" BIGINT NOT NULL,
    "session_id" VARCHAR(48) NOT NULL REFERENCES "checkout_sessions" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_line_items_session_9cb327" UNIQUE ("session_id", "position")
);
COMMENT ON TABLE "line_items" IS 'One line of what a session sells (Stripe''s `line_items`); the session''s amount is';
        ALTER TABLE "checkout_sessions" ADD "mode" VARCHAR(16) NOT NULL DEFAULT 'payment';
        ALTER TABLE "checkout_sessions" ADD "locale" VARCHAR(16) NOT NULL DEFAULT 'auto';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "checkout_sessions" DROP COLUMN "mode";
        ALTER TABLE "checkout_sessions" DROP COLUMN "locale";
        DROP TABLE IF EXISTS "line_items";"""


MODELS_STATE = (
    "eJztXW1z2ziS/isofRmnSnE5juXkJltb5STOxDdOnLM9N1ubbNGQCFk8UwRDgJZ9e/Pfrw"
    "GSEl9AhpBImWIwNVUzJtEg9aAJdD/daPx7MKc2cdn+ie/8Th4Hv6J/Dzw8J/A/uTtDNMC+"
    "v7ouLnA8dmVT7DvWHXmUF/GY8QBPOFyfYpcRuGQTNgkcnzvUE61P0JwEkxn2+C8MMTIJCE"
    "cg/QZRz31EDmfo6uPJ88PRMXLgPqcBsfdFzzadQNeOd7tJJ6HnfA+Jxekt4TMSQFdf/wWX"
    "Hc8mD4Qlf/p31tQhrp0BxLFFB/K6xR99ee3dDAcfZEvxgmNrQt1w7q1a+498Rr1lc3h/cf"
    "WWeCTAnNgpkLzQdWM8k0vRu8IFHoRk+ZL26oJNpjh0BdRCOnqD1bWBZX2+uLauTq8ta1AY"
    "hkQiBWp8aUI9MYSOx5n8/XP8YLnEu+Uz+PPo4K/oOSscolbigf99cvnu48nl3tHBM/FACn"
    "oQKcjn+M6hvPWX7AJzHHUiUV/B7Dr3ROhYEey3lLoEe2q802I51Mcgtw7syYUV7iuN3gLw"
    "FUC/vbg4Fz3PGfvuygtn1znE//j09vRy74UcCGjkcHn57PO1hH8Ft+0w38WPOqqdEmlGv5"
    "8Y6HY0fAVxND1ZbIZhPtIBuiDYu+nk+KgG2MdHpWCLW1mwATEBhYV5Een3cIc7c6JGOyuZ"
    "g9qORfeT/9lFPYcfaF/A+hgPeQX012efTq+uTz59ycwy70+uT8WdQ3n1MXd17zg3TMtO0J"
    "9n1x+R+BP98+LzqYSXMn4byCeu2l3/cyDeCYecWh5dWNhOaWdyNUEtM+ouZtwK2Vrjnpdt"
    "YOTjV+7KwO/IQCeYVI50QO7p3VrjnJU0o9zlUU6Me0vP6M6JGeukxDoRPs70Tml+JxAWYf"
    "8ATpRz64E3KME/g7fE3kRlcMeu46dUVzsG+l+JZiVXV597gBdL5zCvcIAB/HIS2dqX8BVc"
    "nr0Dg1vAPcaTuwUObKsEd8cmc59y4k0erYBMaGAzhQcUd/Lh90viYvmjStE/W3V4Kfvr0T"
    "BIROkhTSGZwbh4a344z1/BHr6VP0k8WzwpBg6mF8d7FwaMBgMFIZK+PaxiRSaioTWRLWtS"
    "I3/OSEAQRh7hCxrc/cLQAvMJXETiW7PZG8TC4B48XYZgsuU44KxIjazbyQbUSPwonak6Jd"
    "I7r6Z9kmTs0smd5YXzMQkU04Rze+ZxNe55yRz4zk5O1/C+8J/n/3F4+PLlq8ODl8evR0ev"
    "Xo1eH7yGtvKNi7deVfErZ78JpiQzPEXqJIJyhtlMR/GzUj00UV4cvq6h/tCqVP/lPRXWwj"
    "CHGWvur6PzGeHtqf1Br3QeTBMC5o5QX6IwUP7z6uJzmfeVE8w7YM6Eo/9DrsNaG4nB36ah"
    "NxE4o3HouNzx2L543t8H7ZovKrQFUBlnLNH+vU8n/8h/GO/OL97mvSzRwdvc4MywKxArfh"
    "tVxPlKaIu0+fLKzvLmAjYw1DGLbPAs4NfkoWQqyomtNf3vEO9w+o/rai1f0g7nF59/S5rn"
    "VT+LPFj4HryP1uyTljETT+MTT+jba5LuWUlDuneYpVs63hkGo5zbaN1HvxgzEtzjeETUjn"
    "q6zfDH3jpdNa/psl94BPn4cQ7GzRDZBCB2OECFPTYFj5uC070gxEeYIXCqE58cMbxA0M7x"
    "EAV5aZ++QUsKiBd8+lae8s3zQXiPPwyR7BB+0TBq9WwffYBOkwcwhD07egRDN/F7wCo2vR"
    "HZFeKJySuB8oB+lfIJX9NuP39YekEuvbXk9yn+SDlI/8oREBn5jCcLDb8OUm8WidbO46jy"
    "HpRcssJhiJfl7nIUW3QYypmLLlBFT70ktJxvcAe/SwffpP32wBWfTzLNZQBOXW+Eijiuw0"
    "Tkl9AUEXGs5iEM8WaIt07A3z7xllql6wKdEjEo10M5YwBlcS6dUDIyfZpNDl8cvTp6/fL4"
    "aDmJLK9UzR3FeYKBKQqvIO1BDf3NiRkdrqfDaetbA+2cmEFbD229BJmsVB/Yx5wxXQfpo3"
    "Kgj1Q4qyy9SoiVBp7R5DILg94RBYdeYV8kAgbhegjjOQ1VGV1/gG1xODpWo7wS6oVtUQPV"
    "VwXgAjJxfIeosCtXz4yQUdF6Kjolig0/lfoZS/y8yjnBHvWcCXYVPERVwDcjt8WYb8J17m"
    "zId+6wucik05kM0jJb5NfaCixmZ4LDgzrcJbQqnQnkPbOBp9+xxLINPJ2JJZLJHQ35VeT2"
    "D5ShxGyTYXUkMWpsxTxC7dxfzBFGbEZ9EZZzGMLsjtiIUxH5e4MYIegGnrrPOGgsu0FTGs"
    "iNzuLvEJ6lygRuossf5wV/zefBpzfjpr5KvZjcz7e3uiHn1eyt7ojBEH1GWtTjUqItY+Hp"
    "1Lv5YJxalSuMMbUOt2mIxYRb0R5L3+gmuhEBAP1hboncXdV+pIp4p1K8F97a0wQ9IyDDIB"
    "A7unS0viDYQ07iZQ3lf1mq+y8Lqu+6dAE2yyR49MFojcFz9DLeKzvZfhLq06ymraSbJsjG"
    "iUFrjUpa1gzGBoNhAlHbCUS5dIJdLXNnJbFFg0d4+UVrZ3m1m6bO0mUPAwWbWo5wXq6HK+"
    "vhQS1VFs0qWL6iOrNwMiGM6SKeEzOA1wZ8Ioo1uNoanpEycNeHO2SczklgkTl29CAvSPZv"
    "eTwc1Sn8Ba3KMR8VS3+5TpxIRISlTTRNkhLxHoLfRthmTjgWvKOOLZ6W6cauPPHY3uzKIw"
    "++A7fXiKRlJbcTSdsmMbkjgbMEpMpSWbsVLzWjvN4omx22P8Uwm7p3pu5dB76lLda9cx0P"
    "LG1O5huWuzuHfs6gmx6BrqJZN0Tpyyrq2BeQ2kwNOr0n8kGFhKDoxrAqDYjcJ8NV40gED0"
    "FHxLOfy+MLovqPiE4Ro+AjzQAXxEUuz0y2IvYbtCDjGaV3DMFznXsSiF34jCjOSWiyZ5MJ"
    "tFOr3RCZTKCOZAJJkDT0Omnfvyyg5iv+0/H/kImuxZwR6h/KzYcfdbm9p+P1ehRbDwj8bK"
    "ar21mp/vHXzU8h6eLbd0Qru0oh2j/ED0ejWuGaUUW4ZrTbGz0McWkYrQ7a+IbR6hyjFfvN"
    "ymxRHa7mz8gRfx9199gj7FvlbD4SHPAxLBADBW+zujms4m5mSbOa/M31jCBxjBQS6w3CSF"
    "RUEySL+EW3AQ3hL5dSHwXYG6LFzJnMiGBW/ICKZCZxGTm8SN400+0375sX61LC6TwicPHF"
    "ARAeRVRQOaLU44SIPlwCFyNiyGHIFh8Ko3JTmEiXhZaLALxchsQhE988IjubkoU4g5N6dl"
    "Qp8uYOM4YR/BZOgxs0gffgxHXhF3wPHcIRDfmYPqBpQOdwzSbYjjvfR6LQZUAXUWlK+ePk"
    "j96Dd0L+6rc9+1WWnZR2rgjgw6suZpKUghd4TF5VbHgTv3fj4y3wXMt7T9obXkqblxIf3R"
    "oWYUrMRDg7bQ/GH7DO55QS6aEd2Fg2Vke2UxfPnVKsw8rDqcrX45LDseotzFMngCUUVNiH"
    "YSBi8zNGMUWCFg6fwYqBblIv9Bzs4pshNBGH3BJbboqGP4Q1oF6im36AsnByfMZ2bJ4Kpi"
    "FfHFkrpGIKHot72yh4rMknbcIhdXyia4NESrjOKbwHCfzA0a3VpBTvIfrNk6ayaIQO2EuB"
    "HsLb/J6kZD2xyqoIlM7fCsm19l13jZJuuDrsEqYxtRVTdPkZPgXBPhD+VT5GG6f4MIJdon"
    "tW1Uroqc+qUtubHcs6MBGWn8GjznoGdRfjrFQPV+TW4ysxgg2EV05853fSJ4J/mAuuZJUt"
    "E1t5d3L17uT9aVVopU22Ypk2rCAp0inF5dxENoG53oFRQkYQ+Yu4QFtUKA7+67oM7V0B6D"
    "75haGbVd83z95IxjtuCjej+jrIYQVOovEnfPPghhMgTjl299EVBwW3EQWdRtC7XCvk2VEy"
    "HIBEGA2wLqcykvr68dQTHz21GZ9hUkQbp+KXA1MA+2qOXbfU/UjL9ane08vDV8dLn0P8Ue"
    "VuXH06OT8vWmRPG0l6ahxzdFAt3ntUwXuPCruQ02+mAXNOrA/+XBbsUa0gw6giyDBSVOpd"
    "oxiZqUOmU4cMfiS3yqr3V1H4OcE+TcNbLrv3PcQed7hCyUvBT4v0CfnGmLe4NKQ0J/X0Oi"
    "/ZJ3i3rNhZK7w2h5+13fs3gzezc6KCNmCrGuIb0gaKquQ7Bn1d/iCrdV3iD5aZsQr+IJ01"
    "W84fJImndbeKonHIwGlnLNq4GXn0fBbQ8HaGfheJd29EdXfQC4ZuKZLA3s64SEsQWXx04S"
    "WnNKtKxjff/QZ5d8bRH2zD0TdOabulsaLPxVp+FkWsy7fRqWRNqazqaOQaG+1C+PFBUpOW"
    "UxcQFBXgxr5O3L26k+2Zqgf5QTnojum/WyHJ7c5EP+3pPoWY2oY7Z3oXT8t+QqrzhdYHq7"
    "9eRAa1VTmW9aFaVn3pI0CmwFANkOLiOBbxbJ86G6MVb8s6jXvrE2ptOt2Jkil87pT+lbvc"
    "aVWvF7DHnJO5z+OT01IBdfkvQXvxcRJDJA8nflY8W63oajfYb53CTHFPonmcFwpN8sF4U6"
    "LJHNbW1Tmm5WRJc1hbu/nsqfmnNtG0Eukh19QUsZd2rtMnTenF5YuiPYS8ea2Wy3JCz+kA"
    "XhDsX9JJKwfFxxHgMWbEElkOCtArj41XyvcijFwD6+Ih8jaZOHPsKlCsTvJLy/UCvQaT/M"
    "zBmZ1KdDAHZ24vYe17SDmxAs2NoVmpLR5Wd9BW/CoL8us6lt7rckvvdcHSixBjNAwmayC9"
    "ktsi1tuBuvltzhFk+vGqtFwD0aqOWXo7EpxKMKncQJdQYB71VF9T1VpdEH3CKO9OL9IB2J"
    "O+Q3SrN6SEejeVteI+TQlZ33cqCu++uq/pNWFb7JzTmyzSUrsP3NPME0l6TUCmOjNFTqwR"
    "rqVDwYhWpopkbdOEOif2pNNytwEGo2RGA+d/l0HiLMTlBUgKgn3gDrddgGSBXZeIGUFWgC"
    "rCX56TWZTcKCNzd8ahldTLZGoOA0fnG8iJmS9A/wuwidyqvU70QiHa0gj0bFGNyV3wXIhz"
    "r6p/VCd4kZZ+SkPyoNF/tm3EL3l2T7ULsc44LEXNIKw7CCDvsSkJLMezpq7YSaTwqarSXd"
    "QdmPJgNTJeXCVNX51cpOboDb7KjKIFIb5lh7ogZ+QM0rWRvsW6hFZGzkzi69NhkTXISaA6"
    "xrfikLi8oHGk1nek5rACwitMnWAuiQGdrWtK2e19EC/aMuhb2r02dulEkclYRf4WRHtUkn"
    "fLHDB/sGaYzXT81ZRIH5iCLTiqUk8tL5yPSaCn6XlJo+jrKnqEpK6uZ6WMutdSd5feWvLX"
    "aSyaGZkeaXljy6WPH1WTR2WYTjlnGK1Va+265t4Tmnoth6ObM/UiiNYrVZCTNelfXU7/Mi"
    "UpfophDn17zWHOSpph7vQwm/Omt7bd0FSQNBUknxr6BipIrk73Vs0jDaBsTk//4enpbVYL"
    "uQS4z525o6wXsro5rKoYIobMckU7jaIhQui5FELjcHJHONqTlTvEdXn55tkQMZgoiY3Gjy"
    "g6Szs5vDuuvhncq6p0Ntq7OB/8JKovkvR0R3yOMIvOA4FnugTNqUi3Qo44DwRNQ3Ga9y0o"
    "BNr77d3lyS8MfRtAY/gyuDPBcC8InHvsfvOERfRt8OxXWc0Eczp3Jij04cnRcd7JMaljym"
    "dI1D+LDhBnPhFniTt8KAqhXP3XucOJvPElshbgyr546YAu0GJG2fL1ZvDSPmYMfrM4/Dt6"
    "0fhHCfk5fkRjgiLltMXpJeK4cGm/DZaf3Vq1SqOHaPF0S4neFUdpsIxmeX0UMbZKa/6DS3"
    "EJ8ZGSyYE+FUK7O0OrcH5/8cfb81P05fL03dnVWRxxXBrr8mY2sH55enLenYOkY6Pks9xa"
    "pZi6M/crZ+/MLq3adZZXByFJOSQHOCnMFJcmQXui6PFN3PSSTOWkKyY1mPlgHhRzXNxUVW"
    "u5jUcoj1xKF39aWUKyAFTqlnyJmNI2p0t3KCRUUbvZVNUxbu4Ou7mZClGp6UdrSskJmloZ"
    "WtNLR5b7uBbmSVQRUbXg51pULvlJoc64wKKG1/bx+vrLsi4jnYITAZ07wnsaoikNpE+UuL"
    "uwcCc3kUtv1Y7aph02fICCWZu3tjaXJM+Uz2Ob5cx0dAprLCTLOA7Wi+BkJU0Ep9MRHDsM"
    "ZGKCpcolLt9cn5UyH1BpiVMATVVUtrzGSVbKJDoVgSVBQLUSnZYC/Ut0auWoUZhefHgosc"
    "bUVtRwK98mXBDsA+Db3ygcmaSaLnBOrI8+cCNkQ0WoN4GwgShk7D29T/W4Y9jXDUbm9K5L"
    "xwXmB6Hcy02P04/d3PgnO3XZ7WvwOWnIx/RBxNCi6Jw8IQXRBbHFcQTySnwuxRAtAgccWA"
    "85nnRXZVPwVeXmWywPBiv6vi09Q8lvy8bxeCc9SoY75yl/TRVt92DRSPgBeeCBYMPTwkNz"
    "HkKXjinsYoH+4vw3EKFrAdtWUG++oHmaMKvpIKRFTCJ53jfITzMFXKupC4W44S86zV8EhI"
    "PtEXrcUZQVqR7snKgZ6E4PtEtELUyZOKWzKuXE+uCQth2CdTHj1nrslUrUUFiqYjCAkzaP"
    "lZXqnyq3QmaZDUc/xfIwoXNfppmutYMwK2t2EHZ5pHOkQe0gQFbM8KM1LIE00VMb55SMAV"
    "mfhCb3yrr82gx0345PHuZ457SeqUln1aTRHLXfw2OECxBnp0xdar9Ac1kuvS0OwBpHOKeS"
    "0noCfasnOOc1tjwOklbqH8dBMudy10nyTxLv0B+X59GuqLi4LkMMvkFiR3EIljp4OX6W6k"
    "jnBvqrc5Rzbrdd+sRfE7DoTsDCHOC81SKgYaDgW8vVOm7eQ4Pw8KBWbr5oVrH/rpifn345"
    "DaBzYoYkqkUSEU/8dNuKlosi3uVFVYuSG1VV7ZquV0DdTllVwrGY4nWGIC2zffAHf5uGnk"
    "yYQOPQcbnjsX3x2L8PejIkO5IJEH+IbaHediaA7bBoIgGTkmlO+UXR/k37DW5yT6k2OAnw"
    "ChYjYMnrzfsKUTPxbzDL7FaYZpuOVJ+4e1MW7qcYZlMW7qmiB6aQ1kCD4N60kFZh60CcEr"
    "4xwd3DfQOtMtwnAP1kNlAQ2/GdYRWfjVdtfkRil8PQ8Mbxn2XX+IYpVeV8MHw+6rqN5etP"
    "SqSHa8/haFTHgxqNyj0ocS+XwA4flQbCcfMeovuiln/6osI/faHIXaMeV2YDlPulKRHjj2"
    "r6o09am+Wv/wdOI2q0"
)
