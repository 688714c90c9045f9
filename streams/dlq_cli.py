"""``woosync dlq list|show|replay``: the dead-letter topic from the command line
(streams.dlq does the work; this module parses flags and prints).

  woosync dlq list [--topic T] [--stage S] [--error-class C] [--since ISO] [--until ISO]
                   [--not-replayed] [--json]
  woosync dlq show ID [--json]
  woosync dlq replay ID... | --all [filters] [--set field.path=value]... [--dry-run]
                   [--again] [--by NAME]
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from streams import dlq, topics
from streams.codec import Codec
from streams.envelope import parse_time
from streams.errors import ConfigError, DecodeError
from streams.settings import load_settings

VERB = topics.DLQ.name  # the command is named after the topic it works


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(VERB, help="list, show and replay dead letters")
    verbs = parser.add_subparsers(dest="verb", required=True)
    listing = verbs.add_parser("list", help="dead letters, oldest first")
    _filters(listing)
    listing.add_argument("--json", action="store_true")
    show = verbs.add_parser("show", help="one dead letter, its message decoded")
    show.add_argument("id", help="dlq:<partition>:<offset>")
    show.add_argument("--json", action="store_true")
    again = verbs.add_parser("replay", help="send dead letters back to their topics")
    again.add_argument("ids", nargs="*", help="dlq:<partition>:<offset> ...")
    again.add_argument("--all", action="store_true", help="every letter the filters select")
    _filters(again)
    again.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                       help="edit the message before replaying it (repeatable)")
    again.add_argument("--dry-run", action="store_true", help="say what would be replayed")
    again.add_argument("--again", action="store_true", help="resend letters already replayed")
    again.add_argument("--by", default=None, help="who replays (default: the OS user)")


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topic")
    parser.add_argument("--stage")
    parser.add_argument("--error-class")
    parser.add_argument("--since", type=parse_time, help="ISO time (UTC if no zone)")
    parser.add_argument("--until", type=parse_time)
    parser.add_argument("--not-replayed", action="store_true")


def selection(args: argparse.Namespace, ids: tuple[str, ...] = ()) -> dlq.Selection:
    return dlq.Selection(args.topic, args.stage, args.error_class, args.since, args.until,
                         False if args.not_replayed else None, ids)


def run(args: argparse.Namespace) -> int:
    settings, codec = load_settings(), Codec()
    letters, undecodable, complete = dlq.load(settings, codec)
    if not complete:
        print("warning: the dead-letter topic was not read to its end in time",
              file=sys.stderr)
    if args.verb == "list":
        chosen = dlq.select(letters, selection(args))
        if args.json:
            print(json.dumps([letter.summary() for letter in chosen], indent=1, default=str))
        for letter in [] if args.json else chosen:
            replayed = f" replayed x{len(letter.replays)}" if letter.replays else ""
            if letter.replay_of:
                replayed += f" (a replay of {letter.replay_of} that failed again)"
            print(f"{letter.id}  {letter.at:%Y-%m-%d %H:%M:%S}  {letter.topic}"
                  f"  {letter.stage}  {letter.error[:80]}{replayed}")
        if not args.json:
            print(f"{len(chosen)} of {len(letters)} dead letters"
                  + (f"; {undecodable} records undecodable" if undecodable else ""))
        return 0
    if args.verb == "show":
        found = dlq.select(letters, dlq.Selection(ids=(args.id,)))
        if not found:
            raise ConfigError(f"no dead letter {args.id!r} (see: woosync dlq list)")
        shown = {**found[0].summary(), "message": decoded(codec, found[0].value)}
        print(json.dumps(shown, indent=1, default=str))
        return 0
    if not args.ids and not args.all:
        raise ConfigError("name the letters to replay, or --all with filters")
    chosen = dlq.select(letters, selection(args, tuple(args.ids)))
    if args.dry_run:
        for letter in chosen:
            if args.set and letter.value is not None:
                dlq.edit(codec, letter.value, args.set)  # refuses an edit that does not fit
            state = "already replayed, skipped" if letter.replays and not args.again else ""
            print(f"would replay {letter.id} -> {letter.topic}:{letter.partition} {state}")
        print(f"dry run: {len(chosen)} letters selected, nothing sent")
        return 0

    def report(done: int, total: int, outcome: dict[str, Any]) -> None:
        print(f"\r{dlq.progress(done, total)}", end="", file=sys.stderr, flush=True)

    outcomes = dlq.replay(settings, codec, chosen, args.by, args.set, args.again, report)
    print(file=sys.stderr)
    for outcome in outcomes:
        print(json.dumps(outcome))
    sent = sum(1 for o in outcomes if "replayed" in o)
    print(f"replayed {sent} of {len(chosen)}")
    return 0


def decoded(codec: Codec, value: bytes | None) -> Any:
    """The message as readable JSON: bytes as text where they are text."""
    if value is None:
        return None
    try:
        message = codec.decode(value)
    except DecodeError as exc:
        return {"undecodable": str(exc), "bytes": value[:200].hex()}
    return {"name": message.name, "body": _readable(message.body)}


def _readable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _readable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_readable(v) for v in value]
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return value.hex()
    return value
