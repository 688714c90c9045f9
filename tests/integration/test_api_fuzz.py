"""The worker's web API fuzzed from its own OpenAPI description (/openapi.json) with
schemathesis: every operation, with the admin token, against a real worker on the
shared broker. No answer is a server error, and every status and content type is one
the description promises."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from devstack import seed_data
from devstack.kafka_broker import LocalKafka, free_port
from devstack.supervise import WORKER_READY, ManagedProcess, worker_process
from streams import openapi
from streams.admin import ensure_topics
from streams.settings import Settings, load_settings
from tests.integration.conftest import TEST_ADMIN_TOKEN, worker_env

pytestmark = pytest.mark.integration

schema = schemathesis.openapi.from_dict(openapi.document(Settings()))


@pytest.fixture(scope="module")
def api(kafka: LocalKafka, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("api-fuzz")
    config = load_settings(broker=f"kafka://{kafka.bootstrap}", app_id="woosync-api-fuzz",
                           web_port=free_port(), data_dir=folder / "worker", partitions=4)
    ensure_topics(config)
    env = {**worker_env(config), "WOOSYNC_CONSUMER_OFFSET_RESET": "latest",
           "WOOSYNC_STORES": json.dumps({"demo": {
               **seed_data.EMULATOR_KEYS, "rest_url": "http://127.0.0.1:9/wp-json/wc/v3",
               "webhook_secret": "api-fuzz-secret"}})}
    worker: ManagedProcess = worker_process(folder / "worker.log", env).start(WORKER_READY)
    yield f"http://127.0.0.1:{config.web_port}"
    worker.stop()


@schema.parametrize()
# Derandomized: the same examples every run, so CI is repeatable (run it with a random
# seed by hand to explore further).
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_request_breaks_the_api(case: Any, api: str) -> None:
    # GET /dlq/replay and GET /reservations/check are described only to say they are
    # refused (405, each a POST): refusals by design.
    # And the token is sent on every request, so a case generated without it (to see it
    # refused) would be judged against the wrong expectation: the refusals of malformed
    # input are checked without that check, by status codes and by the pages' own tests.
    by_design = [negative_data_rejection]
    if (case.method, case.path) in {("GET", "/dlq/replay"), ("GET", "/reservations/check")}:
        by_design.append(positive_data_acceptance)
    case.call_and_validate(base_url=api, headers={"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"},
                           excluded_checks=by_design, timeout=30)
