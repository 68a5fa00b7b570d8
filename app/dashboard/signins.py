"""Signing in to the dashboard: passwords with backoff, the TOTP step, server-side sessions.

A session is a row keyed by the SHA-256 of the cookie's random token: signing out (or out
everywhere) deletes rows, so it takes effect at once in every process. A session ends after
`dashboard_idle_minutes` unused or `dashboard_absolute_hours` after sign-in, whichever is first.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from app.audit import audit, user_actor
from app.config import Settings
from app.dashboard import totp
from app.dashboard.passwords import hash_password, needs_rehash, verify_password
from app.dashboard.users import UserError, normalize_email
from app.models import DashboardSession, User
from app.secretbox import SecretBox

# Four wrong passwords in a row cost nothing; the fifth and each later one lock the account
# for twice as long as the one before (30 s, 60 s, 2 min … at most an hour). The lock refuses
# even the right password, so guessing gains nothing from it.
FREE_FAILURES = 4
FIRST_LOCK_SECONDS = 30
MAX_LOCK_SECONDS = 3600
# last_seen_at is written at most this often: a page view is not a database write.
TOUCH_EVERY = dt.timedelta(seconds=60)


class SignInOutcome(StrEnum):
    SIGNED_IN = "signed_in"  # session started, nothing more owed
    CODE_NEEDED = "code_needed"  # password right; the TOTP (or a recovery) code is owed
    WRONG = "wrong"  # wrong e-mail or password (never says which)
    LOCKED = "locked"  # too many wrong passwords: wait `wait_seconds`


@dataclass(frozen=True, slots=True)
class SignIn:
    outcome: SignInOutcome
    token: str | None = None  # the cookie value of the new session
    wait_seconds: int = 0


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def lock_seconds(failures: int) -> int:
    """How long the account stays locked after `failures` wrong passwords in a row."""
    if failures <= FREE_FAILURES:
        return 0
    return min(FIRST_LOCK_SECONDS * 2 ** (failures - FREE_FAILURES - 1), MAX_LOCK_SECONDS)


def _seconds_until(moment: dt.datetime, now: dt.datetime) -> int:
    return max(1, int((moment - now).total_seconds() + 0.999))


async def sign_in(email: str, password: str, ip: str) -> SignIn:
    """Check a password; on success start a session (maybe still owing the TOTP code)."""
    try:
        address = normalize_email(email)
    except UserError:
        address = ""
    user = await User.get_or_none(email=address) if address else None
    if user is None:
        # argon2 takes ~0.2 s of CPU: unknown users cost the same as known ones.
        await asyncio.to_thread(verify_password, None, password)
        return SignIn(SignInOutcome.WRONG)
    checked = await _check_password(user, password, ip)
    if checked is not None:
        return checked
    changes: dict[str, object] = {"failed_signins": 0, "locked_until": None}
    if needs_rehash(user.password_hash):
        changes["password_hash"] = await asyncio.to_thread(hash_password, password)
    await User.filter(id=user.id).update(**changes)
    second_factor_owed = user.totp_secret_sealed is not None
    token = await start_session(user, second_factor_done=not second_factor_owed)
    await audit(user.merchant_id, user_actor(user.id), "user.signed_in", object_id=user.id, ip=ip)
    return SignIn(
        SignInOutcome.CODE_NEEDED if second_factor_owed else SignInOutcome.SIGNED_IN, token
    )


async def _check_password(
    user: User, password: str, ip: str, reentry: bool = False
) -> SignIn | None:
    """The one rule for a password typed at sign-in or again later: refused while the account
    is locked (even when right), a wrong one counted towards the lockout; None when right."""
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        return SignIn(SignInOutcome.LOCKED, wait_seconds=_seconds_until(user.locked_until, now))
    # argon2 takes ~0.2 s of CPU: off the event loop.
    if not await asyncio.to_thread(verify_password, user.password_hash, password):
        return await _count_failure(user, ip, reentry)
    return None


async def confirm_password(user: User, password: str, ip: str) -> SignIn:
    """A signed-in user's password typed again (payout changes, turning two-factor off):
    SIGNED_IN when right, else WRONG or LOCKED exactly as at sign-in, so re-entering is no
    way around the sign-in lockout. A right one clears the count of wrong ones."""
    checked = await _check_password(user, password, ip, reentry=True)
    if checked is not None:
        return checked
    if user.failed_signins:
        await User.filter(id=user.id).update(failed_signins=0, locked_until=None)
        user.failed_signins = 0
    return SignIn(SignInOutcome.SIGNED_IN)


async def _count_failure(user: User, ip: str, reentry: bool = False) -> SignIn:
    async with in_transaction() as conn:
        # Counted in the database: concurrent guesses cannot share one count.
        await User.filter(id=user.id).using_db(conn).update(failed_signins=F("failed_signins") + 1)
        counted = await User.filter(id=user.id).using_db(conn).only("failed_signins").get()
        failures = counted.failed_signins
        wait = lock_seconds(failures)
        if wait:
            await (
                User.filter(id=user.id)
                .using_db(conn)
                .update(locked_until=utcnow() + dt.timedelta(seconds=wait))
            )
        await audit(
            user.merchant_id,
            user_actor(user.id),
            "user.sign_in_failed",
            object_id=user.id,
            details={
                "failures_in_a_row": failures,
                **({"password_reentry": True} if reentry else {}),
            },
            ip=ip,
            connection=conn,
        )
    if wait:
        return SignIn(SignInOutcome.LOCKED, wait_seconds=wait)
    return SignIn(SignInOutcome.WRONG)


async def start_session(user: User, second_factor_done: bool) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    await DashboardSession.create(
        id=token_digest(token),
        user_id=user.id,
        second_factor_done=second_factor_done,
        livemode=False,
        created_at=now,
        last_seen_at=now,
    )
    return token


async def load_session(token: str, settings: Settings) -> tuple[DashboardSession, User] | None:
    """The live session this cookie names, and its user; None when absent or timed out."""
    if not token or len(token) > 100:
        return None
    session = await DashboardSession.get_or_none(id=token_digest(token)).select_related("user")
    if session is None:
        return None
    now = utcnow()
    idle = dt.timedelta(minutes=settings.dashboard_idle_minutes)
    absolute = dt.timedelta(hours=settings.dashboard_absolute_hours)
    if now - session.last_seen_at > idle or now - session.created_at > absolute:
        await session.delete()
        return None
    if now - session.last_seen_at > TOUCH_EVERY:
        await DashboardSession.filter(id=session.id).update(last_seen_at=now)
        session.last_seen_at = now
    return session, session.user


async def end_session(session_id: str) -> None:
    await DashboardSession.filter(id=session_id).delete()


async def end_all_sessions(user: User, ip: str) -> int:
    ended = await DashboardSession.filter(user_id=user.id).delete()
    await audit(
        user.merchant_id,
        user_actor(user.id),
        "user.signed_out_everywhere",
        object_id=user.id,
        ip=ip,
    )
    return ended


async def set_livemode(session: DashboardSession, livemode: bool) -> None:
    await DashboardSession.filter(id=session.id).update(livemode=livemode)
    session.livemode = livemode


# ----------------------------------------------------------------------------- second factor


def _box(settings: Settings) -> SecretBox:
    return SecretBox(settings.secret_key.get_secret_value())


def _totp_context(user: User) -> str:
    return f"users:{user.id}:totp"


def totp_secret(user: User, settings: Settings) -> str | None:
    if user.totp_secret_sealed is None:
        return None
    return _box(settings).open(user.totp_secret_sealed, _totp_context(user))


async def complete_second_factor(
    session: DashboardSession, user: User, code: str, settings: Settings, ip: str
) -> bool:
    """Accept a TOTP code (each at most once) or an unused recovery code; marks the session
    done. Wrong codes count as wrong passwords (the same backoff)."""
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        return False
    secret = totp_secret(user, settings)
    accepted = False
    if secret is not None:
        step = totp.matching_step(secret, code, after_step=user.totp_last_step)
        if step is not None:
            # Conditional: two requests with the same code cannot both pass.
            accepted = (
                await User.filter(id=user.id, totp_last_step__lt=step).update(totp_last_step=step)
                == 1
            )
        else:
            accepted = await _use_recovery_code(user, code)
    if not accepted:
        await _count_failure(user, ip)
        return False
    await User.filter(id=user.id).update(failed_signins=0, locked_until=None)
    await DashboardSession.filter(id=session.id).update(second_factor_done=True)
    session.second_factor_done = True
    return True


async def _use_recovery_code(user: User, code: str) -> bool:
    digest = totp.hash_recovery_code(code)
    async with in_transaction() as conn:
        fresh = await User.filter(id=user.id).using_db(conn).select_for_update().get()
        if digest not in fresh.recovery_code_hashes:
            return False
        fresh.recovery_code_hashes = [h for h in fresh.recovery_code_hashes if h != digest]
        await fresh.save(using_db=conn, update_fields=["recovery_code_hashes"])
        await audit(
            user.merchant_id,
            user_actor(user.id),
            "user.recovery_code_used",
            object_id=user.id,
            details={"left": len(fresh.recovery_code_hashes)},
            connection=conn,
        )
    return True


async def enable_totp(user: User, secret: str, code: str, settings: Settings) -> list[str] | None:
    """Turn TOTP on once `code` proves the app holds `secret`; the new recovery codes (shown
    once), or None when the code is wrong."""
    step = totp.matching_step(secret, code, after_step=0)
    if step is None:
        return None
    codes = totp.new_recovery_codes()
    user.totp_secret_sealed = _box(settings).seal(secret, _totp_context(user))
    user.recovery_code_hashes = [totp.hash_recovery_code(c) for c in codes]
    user.totp_last_step = step
    user.updated_at = utcnow()
    await user.save(
        update_fields=["totp_secret_sealed", "recovery_code_hashes", "totp_last_step", "updated_at"]
    )
    await audit(user.merchant_id, user_actor(user.id), "user.totp_enabled", object_id=user.id)
    return codes


async def disable_totp(user: User) -> None:
    await User.filter(id=user.id).update(
        totp_secret_sealed=None, recovery_code_hashes=[], updated_at=utcnow()
    )
    await user.refresh_from_db()
    await audit(user.merchant_id, user_actor(user.id), "user.totp_disabled", object_id=user.id)
