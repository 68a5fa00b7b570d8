"""Dashboard users: roles, creation and password resets (the CLI and the dashboard call these)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from tortoise.transactions import in_transaction

from app.audit import audit
from app.dashboard.passwords import WeakPassword, hash_password
from app.models import DashboardSession, Merchant, User, new_id


class Role(StrEnum):
    """What a user may do; each role may do everything the ones below it may."""

    VIEWER = "viewer"  # reads everything of the merchant's
    DEVELOPER = "developer"  # also manages API keys and webhook endpoints
    OWNER = "owner"  # everything: payouts, refunds, users


_RANK = {Role.VIEWER: 0, Role.DEVELOPER: 1, Role.OWNER: 2}


def role_allows(role: str, needed: Role) -> bool:
    return _RANK.get(Role(role), -1) >= _RANK[needed]


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > 254 or " " in email:
        raise UserError(f"{email!r} is not an e-mail address")
    return email


def _hashed(password: str) -> str:
    try:
        return hash_password(password)
    except WeakPassword as error:
        raise UserError(str(error)) from None


async def create_user(merchant_id: str, email: str, password: str, role: Role, actor: str) -> User:
    email = normalize_email(email)
    password_hash = _hashed(password)
    async with in_transaction() as conn:
        if not await Merchant.filter(id=merchant_id).using_db(conn).exists():
            raise UserError(f"no merchant {merchant_id!r}")
        if await User.filter(email=email).using_db(conn).exists():
            raise UserError(f"a user with e-mail {email} exists already")
        now = dt.datetime.now(dt.UTC)
        user = await User.create(
            id=new_id("usr"),
            merchant_id=merchant_id,
            email=email,
            password_hash=password_hash,
            role=role,
            created_at=now,
            updated_at=now,
            using_db=conn,
        )
        await audit(
            merchant_id,
            actor,
            "user.created",
            object_id=user.id,
            details={"email": email, "role": str(role)},
            connection=conn,
        )
    return user


async def reset_password(email: str, password: str, actor: str) -> User:
    """A new password; the user is signed out everywhere and any lockout is lifted."""
    password_hash = _hashed(password)
    async with in_transaction() as conn:
        user = await User.filter(email=normalize_email(email)).using_db(conn).first()
        if user is None:
            raise UserError(f"no user with e-mail {email}")
        user.password_hash = password_hash
        user.failed_signins = 0
        user.locked_until = None
        user.updated_at = dt.datetime.now(dt.UTC)
        await user.save(
            using_db=conn,
            update_fields=["password_hash", "failed_signins", "locked_until", "updated_at"],
        )
        await DashboardSession.filter(user_id=user.id).using_db(conn).delete()
        await audit(
            user.merchant_id, actor, "user.password_reset", object_id=user.id, connection=conn
        )
    return user
