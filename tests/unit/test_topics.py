"""The topic registry declares each topic once, with the design's keys and policies."""

from __future__ import annotations

from pathlib import Path

from streams import topics
from streams.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_names_are_unique_and_follow_the_design() -> None:
    names = [spec.name for spec in topics.ALL]
    assert len(names) == len(set(names))
    assert set(names) == {
        "woo.raw", "erp.raw", "commerce.orders", "commerce.customers", "commerce.products",
        "erp.stock",
        "erp.documents", "erp.catalog", "inventory.holds", "inventory.availability",
        "erp.commands", "store.commands", "delivery.results", "dlq", "feed.cursors",
        "divergence.windows", "ledger.orders", "inventory.risk",
    }


def test_snapshot_topics_are_compacted_and_audit_topics_kept_long() -> None:
    settings = load_settings()
    compacted = {s.name for s in topics.ALL if s.cleanup is topics.Cleanup.COMPACT}
    assert compacted == {"erp.catalog", "inventory.availability", "feed.cursors",
                         "divergence.windows", "ledger.orders", "inventory.risk"}
    for spec in (topics.WOO_RAW, topics.ERP_RAW, topics.DLQ):
        assert spec.config(settings)["retention.ms"] == str(settings.long_retention_ms)
    assert "retention.ms" not in topics.COMMERCE_ORDERS.config(settings)


def test_no_topic_name_is_written_outside_the_registry() -> None:
    offenders = []
    for folder in ("streams", "agents", "tables"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "topics.py":
                continue
            text = path.read_text()
            offenders += [f"{path.name}: {s.name}" for s in topics.ALL
                          if f'"{s.name}"' in text or f"'{s.name}'" in text]
    assert offenders == []
