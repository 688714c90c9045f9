"""The composition root: which agents a worker may run together."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents import availability, holds, stock_owners
from streams import inventory_web
from streams.app import create_app, default_agents, every_agent
from streams.errors import ConfigError
from streams.settings import Settings
from tables.registry import ALL


def _settings(tmp_path: Path) -> Settings:
    return Settings(app_id=f"app-test-{tmp_path.name}", table_store="memory://",
                    data_dir=tmp_path)


def test_a_worker_refuses_an_agent_whose_table_no_agent_of_it_writes(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'inventory_web' reads table 'inventory'.*"
                                          r"add 'availability'"):
        create_app(_settings(tmp_path), agents=[inventory_web.AGENT])


def test_a_global_table_may_be_written_by_another_worker(tmp_path: Path) -> None:
    # stock_owners is global: every worker reads its changelog, whoever writes it.
    runtime = create_app(_settings(tmp_path), agents=[holds.AGENT])
    assert "track_holds" in runtime.app.agents


def test_the_pages_and_their_writer_start_together(tmp_path: Path) -> None:
    runtime = create_app(_settings(tmp_path),
                         agents=[availability.AGENT, inventory_web.AGENT])
    assert "compute_availability" in runtime.app.agents
    assert {"inventory", "hold_lines"} <= set(runtime.app.tables)


def test_every_table_has_one_writer_that_reads_or_declares_it() -> None:
    agents = every_agent()
    for table in ALL:
        assert table.writer in agents, table.name
    readers = {t.name for spec in agents.values() for t in spec.reads}
    assert readers == {t.name for t in ALL}


def test_unknown_agent_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="unknown agents"):
        default_agents(("holds", "nope"))
    assert [a.name for a in default_agents(("holds", "stock_owners"))] == [
        "stock_owners", "holds"]
    assert stock_owners.AGENT in default_agents()
