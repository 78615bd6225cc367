"""Crew accounts, passwords and sessions.

Passwords are hashed with argon2id (argon2-cffi). A session is a random token held by the
browser in a cookie; the database keeps only its SHA-256, with the session's CSRF token.

Logins are throttled so that an attacker cannot turn the throttle into a lock-out: failures
for a name from one address stop that name at that address (CREW_LOGIN_MAX_FAILURES per
CREW_LOGIN_WINDOW_SECONDS); failures for a name from everywhere stop it only at addresses
the account has not signed in from in the last KNOWN_ADDRESS_DAYS (the slower
CREW_LOGIN_NAME_MAX_FAILURES per CREW_LOGIN_NAME_WINDOW_SECONDS). Whoever guesses from
elsewhere never locks the disaster office out of its own accounts.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from service.crew.tables import (
    crew_accounts,
    crew_known_addresses,
    crew_login_failures,
    crew_sessions,
)
from service.settings import CrewSettings

Role = Literal["crew", "admin"]
ROLES: tuple[Role, ...] = ("crew", "admin")
MIN_PASSWORD_LENGTH = 12

# Letters (any script), digits and . _ @ -: names show in pages and logs as they are.
_NAME = re.compile(r"[\w.@-]{1,64}")

# argon2id with the library's RFC 9106 parameters (64 MiB, 3 passes, 4 lanes).
_hasher = PasswordHasher()
# Each hash takes 64 MiB and tens of milliseconds of CPU: run a few at a time, off the
# event loop, so a burst of logins neither stalls the app nor exhausts its memory.
_hashing = ThreadPoolExecutor(max_workers=4, thread_name_prefix="argon2")

_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:key))")
# An address an account signed in from this recently is its own: the per-name limit spares it.
KNOWN_ADDRESS_DAYS = 30


class AccountError(ValueError):
    """An account request refused: a bad or taken name, an unknown role."""


class WeakPassword(AccountError):
    """A new password that the policy refuses (shorter than MIN_PASSWORD_LENGTH)."""


class Throttled(Exception):
    """Too many failed logins for a name or from an address; try again in `retry_after` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Account:
    """A crew member who may sign in."""

    id: int
    name: str
    role: Role
    must_change_password: bool

    @property
    def is_admin(self) -> bool:
        """True for the admin role."""
        return self.role == "admin"


@dataclass(frozen=True)
class Session:
    """An open session: the token the browser holds, whose it is, its CSRF token."""

    token: str
    account: Account
    csrf_token: str
    expires_at: datetime


def _account(row: Any) -> Account:
    return Account(
        id=row.id,
        name=row.name,
        role=cast(Role, row.role),
        must_change_password=row.must_change_password,
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(32))


def _verify(password_hash: str | None, password: str) -> bool:
    # An unknown name (None) costs a full check all the same, so the time an answer takes
    # does not tell which names exist.
    try:
        _hasher.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


async def _hash(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_hashing, _hasher.hash, password)


async def _matches(password_hash: str | None, password: str) -> bool:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_hashing, _verify, password_hash, password)


async def create_account(conn: AsyncConnection, name: str, role: str) -> str:
    """Create an account and return its one-time password (it must be changed at first
    login). Raises AccountError for a taken or malformed name or an unknown role."""
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if not _NAME.fullmatch(name):
        raise AccountError("a name is 1 to 64 letters, digits or . _ @ -")
    password = secrets.token_urlsafe(12)
    created = await conn.execute(
        pg_insert(crew_accounts)
        .values(
            name=name, password_hash=await _hash(password), role=role, must_change_password=True
        )
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(crew_accounts.c.id)
    )
    if created.scalar_one_or_none() is None:
        raise AccountError(f"a crew account named {name!r} already exists")
    return password


async def _wait(
    conn: AsyncConnection, where: list[Any], max_failures: int, window_seconds: int
) -> float:
    """Seconds until fewer than `max_failures` failures matching `where` are left in the
    window (it reopens when the oldest of the most recent ones leaves it); 0 if fewer now."""
    window = timedelta(seconds=window_seconds)
    row = (
        await conn.execute(
            select(crew_login_failures.c.at, func.now().label("now"))
            .where(*where, crew_login_failures.c.at > func.now() - window)
            .order_by(crew_login_failures.c.at.desc())
            .offset(max_failures - 1)
            .limit(1)
        )
    ).one_or_none()
    return 0.0 if row is None else (row.at + window - row.now).total_seconds()


_KNOWN = text("""
    SELECT 1 FROM crew_known_addresses k JOIN crew_accounts a ON a.id = k.account_id
    WHERE a.name = :name AND k.client_ip = :ip
      AND k.last_login_at > now() - make_interval(days => :days)
""")


async def _retry_after(
    conn: AsyncConnection, name: str, client_ip: str, settings: CrewSettings
) -> int:
    """Seconds until this name may try again from this address; 0 when it may now."""
    by_name = crew_login_failures.c.name == name
    by_address = crew_login_failures.c.client_ip == client_ip
    wait = await _wait(
        conn, [by_name, by_address], settings.login_max_failures, settings.login_window_seconds
    )
    known = await conn.scalar(_KNOWN, {"name": name, "ip": client_ip, "days": KNOWN_ADDRESS_DAYS})
    if known is None:
        wait = max(
            wait,
            await _wait(
                conn,
                [by_name],
                settings.login_name_max_failures,
                settings.login_name_window_seconds,
            ),
        )
    return math.ceil(wait)


async def _record_failure(
    conn: AsyncConnection, name: str, client_ip: str, settings: CrewSettings
) -> None:
    await conn.execute(insert(crew_login_failures).values(name=name, client_ip=client_ip))
    # Failures older than both windows count for nothing: drop them as we go.
    longest = max(settings.login_window_seconds, settings.login_name_window_seconds)
    await conn.execute(
        delete(crew_login_failures).where(
            crew_login_failures.c.at < func.now() - timedelta(seconds=longest)
        )
    )


async def _remember_address(conn: AsyncConnection, account_id: int, client_ip: str) -> None:
    stmt = pg_insert(crew_known_addresses).values(account_id=account_id, client_ip=client_ip)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["account_id", "client_ip"], set_={"last_login_at": func.now()}
        )
    )
    # Addresses not used for longer than that are forgotten (they are the staff's).
    await conn.execute(
        delete(crew_known_addresses).where(
            crew_known_addresses.c.last_login_at < func.now() - timedelta(days=KNOWN_ADDRESS_DAYS)
        )
    )


async def authenticate(
    conn: AsyncConnection, name: str, password: str, client_ip: str, *, settings: CrewSettings
) -> Account | None:
    """The account when the name and password match and it is not disabled, else None.

    Raises Throttled, without checking the password, when the name has failed too often
    from this address, or from everywhere while this is no address it signed in from lately
    (see the module's docstring). A failure is recorded in `conn`'s transaction (commit it);
    a success clears the name's failures and remembers the address as the account's.
    """
    # Attempts on one name take turns: a burst of parallel guesses cannot all pass the
    # check before any of their failures is recorded.
    await conn.execute(_LOCK, {"key": f"crew-login-name:{name}"})
    retry_after = await _retry_after(conn, name, client_ip, settings)
    if retry_after > 0:
        raise Throttled(retry_after)
    row = (
        await conn.execute(select(crew_accounts).where(crew_accounts.c.name == name))
    ).one_or_none()
    matched = await _matches(row.password_hash if row is not None else None, password)
    if row is None or not matched or row.disabled:
        await _record_failure(conn, name, client_ip, settings)
        return None
    await conn.execute(delete(crew_login_failures).where(crew_login_failures.c.name == name))
    await _remember_address(conn, row.id, client_ip)
    if _hasher.check_needs_rehash(row.password_hash):
        await conn.execute(
            update(crew_accounts)
            .where(crew_accounts.c.id == row.id)
            .values(password_hash=await _hash(password))
        )
    return _account(row)


async def open_session(
    conn: AsyncConnection, account: Account, *, settings: CrewSettings
) -> tuple[str, str]:
    """Open a session of CREW_SESSION_HOURS for the account; returns (token, csrf token).
    Only the token's SHA-256 is stored."""
    token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    await conn.execute(delete(crew_sessions).where(crew_sessions.c.expires_at < func.now()))
    await conn.execute(
        insert(crew_sessions).values(
            token_hash=_digest(token),
            account_id=account.id,
            csrf_token=csrf_token,
            expires_at=func.now() + timedelta(hours=settings.session_hours),
        )
    )
    return token, csrf_token


async def session_for(conn: AsyncConnection, token: str) -> Session | None:
    """The open session of this token (marking it seen now); None when the token is
    unknown, the session expired or the account is disabled."""
    row = (
        await conn.execute(
            update(crew_sessions)
            .where(
                crew_sessions.c.token_hash == _digest(token),
                crew_sessions.c.expires_at > func.now(),
                crew_accounts.c.id == crew_sessions.c.account_id,
                crew_accounts.c.disabled.is_(False),
            )
            .values(last_seen_at=func.now())
            .returning(
                crew_sessions.c.csrf_token,
                crew_sessions.c.expires_at,
                crew_accounts.c.id,
                crew_accounts.c.name,
                crew_accounts.c.role,
                crew_accounts.c.must_change_password,
            )
        )
    ).one_or_none()
    if row is None:
        return None
    return Session(token, _account(row), row.csrf_token, row.expires_at)


async def close_session(conn: AsyncConnection, token: str) -> None:
    """End the session of this token (nothing happens for an unknown one)."""
    await conn.execute(delete(crew_sessions).where(crew_sessions.c.token_hash == _digest(token)))


async def change_password(
    conn: AsyncConnection, account_id: int, new: str, *, keep_token: str | None = None
) -> None:
    """Set a new password (at least MIN_PASSWORD_LENGTH characters, else WeakPassword),
    clear must_change_password, and close the account's sessions but `keep_token`'s."""
    if len(new) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    await conn.execute(
        update(crew_accounts)
        .where(crew_accounts.c.id == account_id)
        .values(password_hash=await _hash(new), must_change_password=False)
    )
    # Whoever else holds a session (perhaps opened with the old password) is signed out.
    others = [crew_sessions.c.account_id == account_id]
    if keep_token is not None:
        others.append(crew_sessions.c.token_hash != _digest(keep_token))
    await conn.execute(delete(crew_sessions).where(*others))
