"""The audit log: who did what to a merchant's account (dashboard, API or CLI)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from app.models import AuditLog

CLI_ACTOR = "cli"


def user_actor(user_id: str) -> str:
    return f"user:{user_id}"


def key_actor(key_id: str) -> str:
    return f"key:{key_id}"


async def audit(
    merchant_id: str,
    actor: str,
    action: str,
    *,
    object_id: str | None = None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
    connection: BaseDBAsyncClient | None = None,
) -> AuditLog:
    """Append one entry; pass the `connection` of the change it records so both commit together."""
    return await AuditLog.create(
        merchant_id=merchant_id,
        actor=actor,
        action=action,
        object_id=object_id,
        details=details or {},
        ip=ip,
        created_at=dt.datetime.now(dt.UTC),
        using_db=connection,
    )
