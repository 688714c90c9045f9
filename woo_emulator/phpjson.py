"""JSON as WordPress writes it (``wp_json_encode``): compact, ``/`` escaped as ``\\/``
and non-ASCII as ``\\uXXXX``. Webhook signatures are over these exact bytes."""

from __future__ import annotations

import json
from typing import Any


def encode(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/").encode()
