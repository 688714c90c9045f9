"""The worker's own commands: ``worker``, ``topics``, ``schemas``, ``dlq``, ``ledger``.

This is all a production image needs (``python -m streams.cli worker``). The ``woosync``
command (devstack.cli) adds the local tooling's verbs to these. Each command reads the
settings once from the environment (``WOOSYNC_*``); flags override the few that differ
per process (ports, data dirs).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from streams import dlq_cli, ledger
from streams.errors import ConfigError, WoosyncError
from streams.settings import load_settings

Handler = Callable[[argparse.Namespace], int]


def add_runtime_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]
                         ) -> dict[str, Handler]:
    worker = sub.add_parser("worker", help="run a Faust worker")
    worker.add_argument("--web-port", type=int, default=None)
    worker.add_argument("--data-dir", type=Path, default=None)
    sub.add_parser("topics", help="create the registry's topics and check existing ones")
    schemas = sub.add_parser("schemas", help="schema history: check or snapshot")
    schemas.add_argument("action", choices=["check", "snapshot"])
    dlq_cli.add_parser(sub)
    ledger.add_parser(sub)
    return {"worker": _worker, "topics": _topics, "schemas": _schemas, dlq_cli.VERB: dlq_cli.run,
            ledger.VERB: ledger.run}


def run(parser: argparse.ArgumentParser, handlers: dict[str, Handler],
        argv: list[str] | None) -> int:
    """Parse, set up logging and run the chosen command; a WoosyncError is one line."""
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)  # kafka-python is chatty at INFO
    try:
        return handlers[args.command](args)
    except WoosyncError as exc:
        print(f"woosync {args.command}: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="woosync", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    return run(parser, add_runtime_commands(sub), argv)


def _worker(args: argparse.Namespace) -> int:
    import faust

    from streams.admin import ensure_topics
    from streams.app import create_app

    overrides: dict[str, object] = {}
    if args.web_port is not None:
        overrides["web_port"] = args.web_port
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    settings = load_settings(**overrides)
    missing = settings.missing_secrets(settings.agents)
    if missing:
        raise ConfigError("refusing to start: no default secrets, set "
                          + ", ".join(missing))
    runtime = create_app(settings)  # refuses a worker whose agents miss a table first
    ensure_topics(settings)
    faust.Worker(runtime.app, loglevel=settings.log_level).execute_from_commandline()
    return 0


def _topics(args: argparse.Namespace) -> int:
    from streams.admin import ensure_topics

    created = ensure_topics(load_settings())
    print("created: " + (", ".join(created) or "nothing (all present and as registered)"))
    return 0


def _schemas(args: argparse.Namespace) -> int:
    from streams.catalog import Catalog

    catalog = Catalog()
    if args.action == "snapshot":
        for path in catalog.snapshot():
            print(f"recorded {path}")
        return 0
    changed = catalog.unreleased_changes()
    for name in changed:
        print(f"{name}: changed since its last snapshot (run: woosync schemas snapshot)")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
