"""An async JSON-RPC client for Tryton 8 (``POST /<db>/rpc/``).

Consumes method names and Python values; produces Python values. Handles what a
long-running integration meets: session login (``common.db.login``) with the user's
preferences as the base context, a re-login when the session has expired (401/403),
Tryton's JSON types (Decimal, date, datetime, bytes), UserWarnings that block a call
(skipped the way Tryton's own client does, then retried), and the wizard protocol.

Errors: ``TrytonUnavailable`` (server down, timeouts, 5xx, lock conflicts: retry later),
``TrytonUserError`` (the ERP refused the request: do not retry as is).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import aiohttp
from pydantic import SecretStr

from streams.errors import WoosyncError


class TrytonError(WoosyncError):
    """Base of the errors of the Tryton client."""


class TrytonUnavailable(TrytonError):
    """Tryton did not answer, or answered that it cannot serve now: retry later."""


class TrytonUserError(TrytonError):
    """Tryton refused the request (validation, constraint, access): not retryable."""


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {"__class__": "datetime", "year": value.year, "month": value.month,
                "day": value.day, "hour": value.hour, "minute": value.minute,
                "second": value.second, "microsecond": value.microsecond}
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month,
                "day": value.day}
    if isinstance(value, bytes | bytearray):
        return {"__class__": "bytes", "base64": base64.b64encode(value).decode()}
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot send {type(value).__name__} to Tryton")


def _object_hook(obj: dict[str, Any]) -> Any:
    kind = obj.get("__class__")
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "datetime":
        return dt.datetime(obj["year"], obj["month"], obj["day"], obj["hour"], obj["minute"],
                           obj["second"], obj["microsecond"])
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "bytes":
        return base64.b64decode(obj["base64"])
    if kind == "timedelta":
        return dt.timedelta(seconds=obj["seconds"])
    return obj


def dumps(value: Any) -> str:
    return json.dumps(value, default=_default)


def loads(text: str) -> Any:
    return json.loads(text, object_hook=_object_hook)


class TrytonClient:
    def __init__(self, url: str, database: str, login: str, password: SecretStr,
                 timeout: float = 30.0) -> None:
        self.endpoint = f"{url.rstrip('/')}/{database}/rpc/"
        self.login_name = login
        self.password = password
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.context: dict[str, Any] = {}
        self._session: aiohttp.ClientSession | None = None
        self._auth: str | None = None
        self._ids = 0

    async def __aenter__(self) -> TrytonClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def login(self) -> None:
        self._auth = None
        result = await self._post("common.db.login", [
            self.login_name, {"password": self.password.get_secret_value()}, "en"])
        user_id, session_key = result[0], result[1]
        token = f"{self.login_name}:{user_id}:{session_key}".encode()
        self._auth = "Session " + base64.b64encode(token).decode()
        try:
            self.context = await self._post("model.res.user.get_preferences", [True, {}])
        except BaseException:
            # Without the preferences (company, language) calls would run in an empty
            # context, and Tryton's company rules refuse records with no company: a login
            # is whole or not at all (the ERP going down between the two calls did this).
            self._auth = None
            raise

    async def model(self, model: str, method: str, *args: Any,
                    context: dict[str, Any] | None = None, skip_warnings: bool = False) -> Any:
        """Call ``model.<model>.<method>(*args, context)``; the context goes last."""
        return await self.call(f"model.{model}.{method}", *args, context=context,
                               skip_warnings=skip_warnings)

    async def call(self, method: str, *args: Any, context: dict[str, Any] | None = None,
                   skip_warnings: bool = False) -> Any:
        if self._auth is None:
            await self.login()
        for _attempt in range(10):
            ctx = {**self.context, **(context or {})}
            try:
                return await self._post(method, [*args, ctx])
            except _SessionExpired:
                await self.login()
            except _Warning as warning:
                if not skip_warnings:
                    raise TrytonUserError(f"warning {warning.name}: {warning.message}") from None
                # What Tryton's client does when the user clicks "yes": record that this
                # warning is skipped for this user, then call again.
                await self._post("model.res.user.warning.skip",
                                 [warning.name, False, {**self.context}])
        raise TrytonUserError(f"{method}: still refused after skipping warnings")

    async def wizard(self, name: str, active_model: str, active_ids: list[int],
                     steps: list[tuple[str, dict[str, Any]]]) -> Any:
        """Run a wizard: create it, execute each (button, form data), delete it."""
        ctx = {"active_model": active_model, "active_id": active_ids[0],
               "active_ids": active_ids}
        session_id, start_state, _end = await self.call(f"wizard.{name}.create", context=ctx)
        result: Any = await self.call(f"wizard.{name}.execute", session_id, {}, start_state,
                                      context=ctx)
        try:
            for button, data in steps:
                result = await self.call(f"wizard.{name}.execute", session_id, data, button,
                                         context=ctx)
        finally:
            await self.call(f"wizard.{name}.delete", session_id, context=ctx)
        return result

    async def _post(self, method: str, params: list[Any]) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        self._ids += 1
        headers = {"Content-Type": "application/json"}
        if self._auth is not None:
            headers["Authorization"] = self._auth
        body = dumps({"id": self._ids, "method": method, "params": params})
        try:
            async with self._session.post(self.endpoint, data=body, headers=headers) as resp:
                text = await resp.text()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TrytonUnavailable(f"{method}: {type(exc).__name__}: {exc}") from exc
        if status in (401, 403) and method != "common.db.login":
            raise _SessionExpired()
        if status in (401, 403):
            raise TrytonUserError(f"login refused for {self.login_name!r} ({status})")
        if status in (423, 429, 503) or status >= 500:
            raise TrytonUnavailable(f"{method}: HTTP {status}: {text[:300]}")
        if status != 200:
            raise TrytonUserError(f"{method}: HTTP {status}: {text[:300]}")
        reply = loads(text)
        if "error" in reply:
            _raise_error(method, reply["error"])
        return reply.get("result")


class _SessionExpired(Exception):
    pass


class _Warning(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(name, message)
        self.name = name
        self.message = message


def _raise_error(method: str, error: Any) -> None:
    kind = error[0] if isinstance(error, list | tuple) and error else str(error)
    detail = error[1] if isinstance(error, list | tuple) and len(error) > 1 else []
    if kind == "UserWarning":
        raise _Warning(str(detail[0]), str(detail[1] if len(detail) > 1 else ""))
    if kind in ("UserError", "AccessError"):
        message = detail[0] if isinstance(detail, list | tuple) and detail else detail
        raise TrytonUserError(f"{method}: {message}")
    if kind == "ConcurrencyException":
        raise TrytonUnavailable(f"{method}: concurrent update: {detail}")
    if kind in ("NotLogged", "LoginException"):
        raise _SessionExpired()
    # Anything else is an unexpected server-side failure: worth another try later.
    raise TrytonUnavailable(f"{method}: server error: {kind}")
