"""Pinned connections keep the name for TLS: SNI and certificate checks use the host name."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.models import WebhookDelivery
from app.webhooks.worker import DeliveryWorker
from tests.conftest import MerchantKeys
from tests.webhooks.conftest import FakeResolver, emit_events, fast_settings, insert_endpoint

pytestmark = pytest.mark.usefixtures("clean_endpoints")


def _certificates(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a leaf certificate for `shop.test` only."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Kassa test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.test")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("shop.test")]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = tmp_path / "ca.pem", tmp_path / "leaf.pem", tmp_path / "key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


async def test_sni_and_certificate_use_the_name_not_the_pinned_ip(
    client, merchant: MerchantKeys, receivers, database_url: str, tmp_path: Path
) -> None:
    ca_path, cert_path, key_path = _certificates(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_path, key_path)
    sni_seen: list[str | None] = []
    server_tls.sni_callback = lambda sock, name, ctx: sni_seen.append(name)  # type: ignore[assignment]
    receiver = await receivers(tls=server_tls)
    client_tls = ssl.create_default_context(cafile=str(ca_path))

    settings = fast_settings(database_url, webhooks_allow_private_targets=True)
    ids = {
        host: await insert_endpoint(
            settings, merchant.merchant.id, f"https://{host}:{receiver.port}/hook"
        )
        for host in ("shop.test", "other.test")
    }
    (event,) = await emit_events(merchant.merchant.id, 1)
    # Both names resolve to the loopback receiver; only shop.test has a certificate there.
    resolver = FakeResolver({"shop.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    worker = DeliveryWorker(settings, resolver=resolver, ssl_context=client_tls)
    try:
        await worker.run_until_idle()
    finally:
        await worker.aclose()

    assert receiver.ids() == [event.id]
    assert receiver.requests[0].headers["host"] == f"shop.test:{receiver.port}"
    assert "shop.test" in sni_seen and "other.test" in sni_seen
    assert (await WebhookDelivery.get(endpoint_id=ids["shop.test"])).status == "succeeded"
    mismatch = await WebhookDelivery.get(endpoint_id=ids["other.test"])
    assert mismatch.status == "pending"
    assert "certificate" in (mismatch.last_error or "").lower()
