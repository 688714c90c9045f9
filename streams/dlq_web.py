"""The dead-letter topic over HTTP, for operators (admin token required; streams.web):

``GET /dlq?topic=&stage=&error_class=&since=&until=&not_replayed=1``: the letters,
oldest first, with their replays. ``GET /dlq/{letter}``: one letter with its message
decoded. ``POST /dlq/replay`` with ``{"ids": [...], "set": ["path=value"], "again":
false, "dry_run": false, "by": "name"}``: replay as ``woosync dlq replay`` does, and
answer each letter's outcome. 400 for a malformed filter or body, 404 for an unknown
letter, 422 for an edit the message's schema refuses.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from faust.web import View

from streams import dlq
from streams.dlq_cli import decoded
from streams.envelope import parse_time
from streams.runtime import Runtime
from streams.web import operations, takes

FILTERS = ("topic", "stage", "error_class", "since", "until", "not_replayed")


def register(runtime: Runtime) -> None:
    app, settings, codec = runtime.app, runtime.settings, runtime.codec
    guard = operations(settings)

    async def letters() -> list[dlq.Letter]:
        found, _, _ = await asyncio.to_thread(dlq.load, settings, codec)
        return found

    @app.page("/dlq")
    @guard
    @takes(*FILTERS)
    async def listing(web: Any, request: Any) -> Any:
        query = request.query
        if query.get("not_replayed", "0") not in ("0", "1", "true", "false"):
            return web.json({"error": "not_replayed is 1, 0, true or false"}, status=400)
        try:
            chosen = dlq.Selection(
                query.get("topic"), query.get("stage"), query.get("error_class"),
                _moment(query.get("since")), _moment(query.get("until")),
                False if query.get("not_replayed") in ("1", "true") else None)
        except ValueError:
            return web.json({"error": "since and until are ISO-8601 times"}, status=400)
        found = dlq.select(await letters(), chosen)
        return web.json({"total": len(found), "items": [_plain(x.summary()) for x in found]})

    @app.page("/dlq/replay")
    class Replay(View):
        async def get(self, request: Any) -> Any:
            return await guard(_not_allowed)(self, request)

        async def post(self, request: Any) -> Any:
            return await guard(_replay)(self, request)

    async def _not_allowed(web: Any, request: Any) -> Any:
        return web.json({"error": "replay is a POST with a JSON body"}, status=405)

    # Registered after /dlq/replay: the first route whose pattern matches answers.
    @app.page("/dlq/{letter}")
    @guard
    async def show(web: Any, request: Any, letter: str) -> Any:
        found = dlq.select(await letters(), dlq.Selection(ids=(letter,)))
        if not found:
            return web.json({"error": f"no dead letter {letter!r}"}, status=404)
        return web.json(_plain({**found[0].summary(),
                                "message": decoded(codec, found[0].value)}))

    async def _replay(web: Any, request: Any) -> Any:
        try:
            body = json.loads(await request.read() or b"{}")
            ids = tuple(str(i) for i in body.get("ids", []))
            edits = [str(e) for e in body.get("set", [])]
            again, dry_run = bool(body.get("again")), bool(body.get("dry_run"))
            by = str(body.get("by") or "web")
        except (ValueError, AttributeError, TypeError, RecursionError):
            return web.json({"error": "body: {\"ids\": [...], \"set\": [...], ...}"},
                            status=400)
        if not ids:
            return web.json({"error": "name the letters to replay in ids"}, status=400)
        chosen = dlq.select(await letters(), dlq.Selection(ids=ids))
        missing = sorted(set(ids) - {x.id for x in chosen})
        if missing:
            return web.json({"error": f"no dead letters {missing}"}, status=404)
        try:
            for letter in chosen:
                if edits and letter.value is not None:
                    dlq.edit(codec, letter.value, edits)
        except dlq.ReplayError as exc:
            return web.json({"error": str(exc)}, status=422)
        if dry_run:
            return web.json({"dry_run": True, "would_replay": [x.id for x in chosen]})
        outcomes = await asyncio.to_thread(dlq.replay, settings, codec, chosen, by, edits,
                                           again)
        return web.json({"outcomes": outcomes})


def _moment(text: str | None) -> datetime | None:
    """A filter's time; absent is no filter, anything else must be a time (ValueError)."""
    return None if text is None else parse_time(text)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
