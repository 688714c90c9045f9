"""The operations guard and the API description."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from streams import openapi
from streams.app import create_app
from streams.settings import Settings
from streams.web import admin_refusal


def test_operations_need_the_configured_token_and_are_off_without_one() -> None:
    on = Settings(admin_token=SecretStr("s3cret-token-of-the-ops-team"))
    assert admin_refusal(on, "Bearer s3cret-token-of-the-ops-team") is None
    assert admin_refusal(on, "bearer s3cret-token-of-the-ops-team") is None
    assert admin_refusal(on, "Bearer s3cret-token-of-the-ops-tea")[0] == 401  # type: ignore[index]
    assert admin_refusal(on, "Basic s3cret-token-of-the-ops-team")[0] == 401  # type: ignore[index]
    assert admin_refusal(on, None)[0] == 401  # type: ignore[index]
    off = Settings()
    assert admin_refusal(off, "Bearer ")[0] == 403  # type: ignore[index]


def test_every_page_a_worker_serves_is_described(tmp_path: Path) -> None:
    settings = Settings(app_id="web-test", table_store="memory://", data_dir=tmp_path)
    runtime = create_app(settings)
    served = {path for path in runtime.app.web.views}
    described = set(openapi.document(settings)["paths"])
    assert served == described


async def test_a_page_refuses_query_parameters_it_does_not_take() -> None:
    from types import SimpleNamespace
    from typing import Any

    from streams.web import takes

    class Web:
        def json(self, body: Any, status: int = 200) -> tuple[int, Any]:
            return status, body

    @takes("kind", "open")
    async def page(web: Any, request: Any) -> tuple[int, Any]:
        return 200, "rows"

    assert await page(Web(), SimpleNamespace(query={"kind": "sale"})) == (200, "rows")
    status, body = await page(Web(), SimpleNamespace(query={"knid": "sale"}))
    assert status == 400 and "['knid']" in body["error"]
