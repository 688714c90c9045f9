"""``python -m woo_emulator [--port N] [--https] [--time-scale S] [--catalogue FILE]``:
serve a store, seeded from a JSON catalogue (a list of CatalogueItem fields)."""

from __future__ import annotations

import argparse

from aiohttp import web

from woo_emulator.config import EmulatorConfig
from woo_emulator.runner import load_catalogue, seed
from woo_emulator.server import Emulator


def main() -> None:
    parser = argparse.ArgumentParser(prog="woo_emulator")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--https", action="store_true",
                        help="behave as a store served over HTTPS (Basic auth)")
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--catalogue", help="JSON list of products to create")
    args = parser.parse_args()
    emulator = Emulator(EmulatorConfig(https=args.https, time_scale=args.time_scale))
    seed(emulator, load_catalogue(args.catalogue) if args.catalogue else [])
    web.run_app(emulator.app(), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
