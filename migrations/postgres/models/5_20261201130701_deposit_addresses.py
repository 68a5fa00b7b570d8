from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "chain_observations" ADD "kind" VARCHAR(16) NOT NULL DEFAULT 'intent';
        ALTER TABLE "merchants" ADD "underpayment_tolerance_bps" INT NOT NULL DEFAULT 0;
        ALTER TABLE "payments" ADD "amount_received" VARCHAR(78) NOT NULL DEFAULT 0;
        ALTER TABLE "payments" ADD "deposit_address" VARCHAR(128);
        ALTER TABLE "payments" ADD "deposit_terms" JSONB;
        ALTER TABLE "payments" ADD "sweep_gas" VARCHAR(78) NOT NULL DEFAULT 0;
        ALTER TABLE "payments" ADD "sweep_due" BOOL NOT NULL DEFAULT False;
        ALTER TABLE "payments" ADD "transfer_in_flight" BOOL NOT NULL DEFAULT False;
        ALTER TABLE "payments" ADD "amount_final" VARCHAR(78) NOT NULL DEFAULT 0;
        ALTER TABLE "payments" ADD "late" BOOL NOT NULL DEFAULT False;
        CREATE INDEX IF NOT EXISTS "idx_payments_deposit_4573eb" ON "payments" ("deposit_address");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "idx_payments_deposit_4573eb";
        ALTER TABLE "payments" DROP COLUMN "amount_received";
        ALTER TABLE "payments" DROP COLUMN "deposit_address";
        ALTER TABLE "payments" DROP COLUMN "deposit_terms";
        ALTER TABLE "payments" DROP COLUMN "sweep_gas";
        ALTER TABLE "payments" DROP COLUMN "sweep_due";
        ALTER TABLE "payments" DROP COLUMN "transfer_in_flight";
        ALTER TABLE "payments" DROP COLUMN "amount_final";
        ALTER TABLE "payments" DROP COLUMN "late";
        ALTER TABLE "merchants" DROP COLUMN "underpayment_tolerance_bps";
        ALTER TABLE "chain_observations" DROP COLUMN "kind";"""


MODELS_STATE = (
    "eJztXW1z2zYS/isYfUkyo2Qc2XJ8TaczTuI0vry4Y7vXTnMdGiIhiWeKUAnQsq+X/34ASE"
    "p8ARlCIiUKRr80JrEg9WC52H2wWPzdm2EHeeTF6dz9iB56P4C/ez6cIfaP3J0+6MH5fHWd"
    "X6Bw5ImmcO5at+hBXIQjQgNoU3Z9DD2C2CUHETtw59TFPm99CmYosKfQp08IIMgOEAVM+j"
    "XAvvcAXErA1YfT54PhMXDZfYoD5LzgPTvYZl27/mSTTkLf/StEFsUTRKcoYF19/ZNddn0H"
    "3SOS/Dm/tcYu8pwMIK7DOxDXLfowF9feTmHwXrTkLziybOyFM3/Vev5Ap9hfNmfvz69OkI"
    "8CSJGTAskPPS/GM7kUvSu7QIMQLV/SWV1w0BiGHoeaS0dvsLrWs6wvF9fW1dm1ZfUKw5BI"
    "pECNL9nY50Po+pSI3z+D95aH/Amdsj+PDr5Fz1nhELXiD/zX6eXbD6eXT48OnvEHYqYHkY"
    "J8ie8MxK1vogtIYdSJQH0Fs+feIa5jRbDfYOwh6MvxTovlUB8xuXVgTy6scF9p9BaArwD6"
    "zcXFJ97zjJC/PHHh/DqH+K+f35xdPn0pBoI1cqm4fP7lWsC/gttxydyDDyqqnRJpRr93DH"
    "Q7Gr6CODJPFplCZo9UgC4IamdOjo9qgH18VAo2v5UFmyHGobAgLSL9jt2h7gzJ0c5K5qB2"
    "YtEXyT/2Uc/ZD3Qu2PwYD3kF9Nfnn8+urk8//5KxMu9Or8/4nYG4+pC7+vQ4N0zLTsBv59"
    "cfAP8T/HHx5UzAiwmdBOKJq3bXf/T4O8GQYsvHCws6Ke1MriaoZUbdg4RaIVlr3POyDYx8"
    "/MpdGfg9GegEk8qRDtAdvl1rnLOSZpS7PMqJc2+pOd05MeOdlHgnPMYZ30rd7wTCIuzvWR"
    "DlTnwWDQrwz9lbQt+WOdxx6Pg51dWegf4t0azk6upzD+BiGRzmFY5hwH45inztS/YVXJ6/"
    "ZQ43h3sE7dsFDByrBHfXQbM5psi3H6wA2ThwiCQCijt5//ESeVD8qFL0z1cdXor+NBoGgS"
    "ge4BSSGYyLt2aDWf4K9OFE/CT+bP6kGDhmXlz/bRgQHPQkhEj6dr+KFbF5Q8sWLWtSI79N"
    "UYAABD6iCxzcPiFgAanNLgL+rTnkNSBhcMciXQKYsaUwoKRIjazbyQbUSPwoFVOdEtEuqm"
    "mfJBl52L61/HA2QoHETLiTc5/Kcc9L5sB399Jcs/dl/3v+j8Hg8PDV4ODw+GR49OrV8OTg"
    "hLUVb1y89aqKXzn/mTMlmeEpUicRlFNIpiqKn5XS0EV5OTipof6sVan+i3syrLljzizWbL"
    "6OzmeEt6f2B1rpPHNNEHN3uPoiiYPyz6uLL2XRV04wH4C5NgX/A55LWhuJ3o/j0Lc5zmAU"
    "uh51ffKCP++nXrvuiwxtDlQmGEu0/+nn09/zH8bbTxdv8lEW7+BNbnCm0OOIFb+NKuJ8Jb"
    "RF2nx5ZW95cw4bc9QhiXzwLODX6L7EFOXE1jL/e8Q7nP1+Xa3lS9rh08WXn5PmedXPIh/O"
    "nTUZ3qykYXg7TAkto7xMuFweSLceEF6MCAruYDwi8qgw3ab//dAQr5rXjA8vfATm8GHGZt"
    "I+cBCD2KUMKuiTMQvvMIvwFgjNASSARXBJAAgIXADWzvUBZvLCGXoNlnwDLQSQrTzl3/6c"
    "CT+l930gOmS/qB+1evYCvGedJg8ggAWp0SMIuInfg5nM8Q1fyudPTF6JKQ/Tr9Lg9Ws6xq"
    "T3S5fbwxNLfJ/8j5Q3/mcu2s3IZ8Im1vBrL/VmkWjtpIEqV1VKXEq803gO6G5AvEXvtDxM"
    "7gIvsespoeXF7Vv2u1TwTdpvD1z++SRmLgNw6nojce9xnbA3P4Wmot5jedBrWB7D8nQC/v"
    "ZZntQsXRfolIhBuR7KGQcoi3OpQcnI6GRNBi+PXh2dHB4fLY3I8kqV7SjaCcJcUfYKwh9U"
    "0N+cmNHhejqc9r4V0M6JGbTV0FbLxshK6UB15ZzpOkgflQN9JMNZ5ulVQix18Iwml3kY+B"
    "ZJCNsK/yIRMAjXQxjOcChLH/qV+RaD4bEc5ZWQFr5FDVRfFYALkO3OXSTDrlw9M0JGReup"
    "6BhJdpdU6mcs8XiV04Y+9l0beoqrixm5LS4wJlzn3q4vzlwy42lbKsYgLbNFfq3IrLVhCQ"
    "YHdbhL1qrUEoh7ZreI3muJZbtFOrOWiOxbHNKrKOzvSZcSs0361SuJUWMr5hFqJ5pCCiAg"
    "Uzzny3IuAZDcIgdQzFf+XgOCELhhT31BKNNYcgPGOBC7avnfIXuWLO20iS6/n4T6NZ90nd"
    "75mfoq1dbkHt9G3oaCV7ORtyMOQ/QZKVGPS4m2nIXdqXfzi3FRiMr6g9TiqYyy7RkVK3JS"
    "cS3iid0sy0VAhkHAN7ioaH1BUMOo+bCG8h+W6v5hQfU9Dy/YrGoHD3PmVsXguWoJwJWdbD"
    "8ZeDf2vpW03wTZOHVlrVFJy5rB2GAwzFLJdpZKloFPGEg4qXKk83IaWv/BQS24ebMKrqQI"
    "OQltm0WZqojnxAzgtQG3+f5qT1nDM1IG7vpwh4TiGQosNIOuGuQFSf1M+GBYp1YPa1WO+b"
    "BYrcdz43QMxL1BpDhtlohrCH4b5PcMUcjZGxV/MS3TjR18/LHa7OBD93OX3V5jPSIruZ31"
    "iG3SO3uy/CDZyhStP+zvqpMZ5fVG2exTfBTDbEpVmVJVHfiWtliqKiarNqxP9UvUi0aIt1"
    "qV6uwOiQcV0gWiG/2qJAF0lwxXjercPmAdId95LippR6XIAB4DwgJcOmW4AMpX+qeiFXJe"
    "gwUaTTG+JYA9171DAd+jS5CkZHeTPZs8gb2y4n2TJ9CVPAEBkoJeJ+31yxFovvg0Hv0H2a"
    "qeYEZIP5SbX/pR5ax2x1dptK4ZIPaziapuZ6X042WbNyHpOrC3SCmzRSKqH+KD4bDWMsSw"
    "YhliuN9p4IaQM0xNB318w9R0jqmJ42Zppp4KV/NbFIi/i7p70Aj7VjmbYgl2CX8jrdNezu"
    "WU1In/PrFzPUVg7AaE8qrfc4YD4lszIIhdNLBw6RRAH9ykXug5+y5v+qwJP+8JOWLLBvuD"
    "TXmSDSBtPEBa1i0+bi7+PLinky/dZsqxdbIcm6I/u4kP2zX7swUnNom1xuw9UDAPXNWd5F"
    "JxDdFvPmgTW9pUwF4KaAhv81tvkvnEKtvjVGq/JZJr7bnpWkjccO2qJUwj7EhMdHk564Kg"
    "DoRDVczbRkFrgqCnXLZ9JbTrsu1yf7Njqx6G4XkMDE82Mqg7GWelNJyRW+d3YgQboHdWx4"
    "3vGeJ1yZ2ssmW4nbenV29P351VUTttshVLZk1CUqRZt3JuIiGuah8EPwqJ6yNCosQPgjyP"
    "/zPA4WQKPkJC4GteOwKHlIAJBgLYyZRyWoEXjsALP6kBLytI0Xz35vD4LtihfgXDIP6vAH"
    "TSXkOj38qWkehzsZafRRHr8mV4mazZQlIdTayxUB+yHx8k+4kpiyACPuNao7lK3FzdyQ4P"
    "TzvY4PNoOGjer5Biu5bo0dYOK/jEG668aecPyzfxp6uXrQ+WpHKajqit0rnXh2qZNa4jQG"
    "aDQg2Q4uR6C/nOHLsboxWnCJzFvemEWptBd6Jkkpg7pX/lIXda1eudHwcpRbM5jesy8oqN"
    "kbUEODq57WlcCqgPROnzZ8XKjcVQu8F+62zsSJ3RFa/r/MlPZEuO0oiiZ7PFw5SC7KqNaX"
    "mxw5SCbHc92hwr2PqxgtkqgUppQxJRDSFvXqvFtJzQcyqAFwR1SALY2kkp1ggSZLGfLfPA"
    "axyakpPXoqRsDayLR1Q4yHZn0JOgeMUue6VcZ1pOC/RiovNw8Op4yXHyP6rozavPp58+FT"
    "0JU/S4Awm1puhxLRvdcNHjv0JMkRUoJnZmpbZ4CMtBW+tXWZBP6nh6J+We3knB04sQIzgM"
    "7DWQXslpd+BN82nKEWTq61VpuQZWqzrm6e3J4lStBLiEAvOxL/uaqubqgugOV3n3epLep3"
    "P8tmTK2jrFb/3YqSi8/+q+ZtQEHc/1FY1FWmr/gduNndjhEdb5GbhDixGtmIp9O5tdYpa7"
    "DTBzSqY4cP+7XCSuu4GoIKgDd7jtDUQL6HmIWwSxg7MIf3lOZlFyo4zM/RmHVs9+CQNX5R"
    "vIiZkvQP0LcBAbG5eus3ohEW1pBDSbVGNyl0UuyL2T7V+ss3iRlt6lI3nQ6H/bduKXPLsv"
    "O6C7zjgsRc0grDsITN4nYxRYrm+NPb6TSBJTVaW7yDsw23trZLx4Upq+OrlIztEbfKUZRQ"
    "uE5pYTqoKckTNI10Z6AlUJrYycMeLr02GRN0hRMFPa3VYQNIHU+oHUjM2A7BXGbjATxIDK"
    "1jWp7PY+iJdtOfQt7V4bediWZDJWkb8FUY1K6myZA6b31hSSqUq8mhLRgSnYQqAq9NTyw9"
    "kIBWqanpc0ir6uokdIqup6Vsqoey119/DEEr9OYdLMyGik5Y1Nl3P4IDMelct0UpthtFau"
    "teu6ezt09Vpejm7O1YsgWq9UQU7WpH91Of3LlKR4FMNsThZ9FMNszqvY2nbD7NZx1fwgfY"
    "FuZGd4ReFIsqrUkgVduXCkvrVf+rkKklmtKzkdRGZHGkDZnL7y3dNX2qwWEiv3F5GiLykZ"
    "krnfr6obksn2r12vM5Z6QoCQA2IokwIf8RZ38JQXz7yJm16i8c2zPhNkOuBTF3pgjoKkqa"
    "xmZxuPkJ4iki4isvqiRCGR1C3xEjE1Yk4Z6RC1WFED1FRnMO7SHrtLmUojKfOjZFJygmbP"
    "tZJ5USj42OZ0H9dUO40qa8km/FyLyik/KfgWF+pSKBn24fr6l2V9LzwGMDmQ/aEvTuxiky"
    "pI3KYny9PaH4CHJ/JaYZt22HAhbjM3b21uLlmELbdjm629dtSENUbts3gtWI8JzEoaJrDT"
    "TKATBmKBy5LlpJVv0sxKmQ+otFQeA01WnLB8r3xWyiyYF4FFQYCVFsyXAvotmA9rHcUwrD"
    "iKYVg8isGc2bbbDWeRS6oYAufEdIyB2z5rykkdQr0hm63vsdb9HKmd07suHTuVH4TyKDc9"
    "Tt8Pc7Nnn9c7HxuHdITvQYAXPwi+WVTaB3iBHF7WWlyJ65v3wSJwWQDrA9cX4apoymJVsY"
    "kLigNm5Edkt/AMKb8tGsfjnfQoGO5cpPw1VfzXZ5NGwg+IwtmcDU8L901d7S4dd9XFQs9F"
    "+9ebMxXisG0F9eYL46YJs5oBQlrEJCTmY4O8mSngWk1dSMQNf9Fp/iJAlPkeoU9dyfb06s"
    "HOiZqB7vRAe4jXVBMFwVVmpZyYDgFp20uwHiTUWo+9kokaCktWVIDhpMxjZaX0U+VWyCyT"
    "uP4opgcbz+acdlhvJ0pW1uxE6fJI50iD2osAWTHDj9bwBNJET22cUzIGZHUSGt1J6zsrM9"
    "C6HcPZz/HOaT2Tk84yo9Ecta/hcZQFiLMmU5XaL9BclocnxQFY4yjQVFKaJtC3ehJoXmPL"
    "10HSSv39dZDM+a51kvyTxDvw6+UnQKeQgrhIIwGEfYPIidYhSOoAz/hZsqNBG+ivzpGguV"
    "0b6ZMjzYJFdxYszEGgWy0mFwYSvrVcrePmGjqEg4Naufm8Wal2RzfzaSCrl1MAOidmSKJa"
    "JBHy+U93rGi6KOJdXpyvKLlRdb6u6XoF1O2U50MUchOvMgRpme2D3/txHPoiYQKMQtejrk"
    "9e8Mf+1NNkSPYkEyD+ENtCve1MAMclkSFhLiVRNPlFUf3M/qCW2R9UmP1B0ezzIIG9gkUQ"
    "8+TV7L5E1Bj+DazMfi3TbDOQ0om7N+WFHsUwm/JCu1o9MAVZegoE96YFWQpbB+KU8I0Jbg"
    "33DbTKcJ8y6O1pT0Jsx3f6VXw2XLX5HoldDkPDG8cfy67xDVOqyvlg9vnI63+Vzz8pEQ3n"
    "nsFwWCeCGg7LIyh+L5fAzj4qBYTj5hqi+7JWfPqyIj59Kcldwz6VZgOUx6UpEROPKsajO6"
    "3N8u3/vOkZ+A=="
)
