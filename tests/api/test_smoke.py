from __future__ import annotations

from tests.conftest import MerchantKeys


async def test_create_and_retrieve(client, merchant: MerchantKeys) -> None:
    body = {
        "amount_fiat": "50.00",
        "currency": "EUR",
        "allowed_crypto_currencies": ["ETH"],
        "allowed_networks": ["devnet"],
        "success_url": "https://shop.example/ok",
        "cancel_url": "https://shop.example/cancel",
    }
    created = await client.post("/v1/checkout/sessions", json=body, headers=merchant.auth())
    assert created.status_code == 200, await created.get_data(as_text=True)
    session = await created.get_json()
    fetched = await client.get(f"/v1/checkout/sessions/{session['id']}", headers=merchant.auth())
    assert (await fetched.get_json()) == session
