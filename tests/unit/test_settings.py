"""Settings: read from WOOSYNC_* once, per-store sections, clear refusals."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from streams.errors import ConfigError
from streams.settings import Settings, StoreSettings, load_settings


def test_defaults_match_the_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("WOOSYNC_"):
            monkeypatch.delenv(name)
    settings = load_settings()
    assert settings.bootstrap_servers == "127.0.0.1:9092"
    assert settings.partitions == 8
    assert set(settings.stores) == {"demo"}


def test_nested_store_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setenv("WOOSYNC_BROKER", "kafka://10.1.1.1:9093")
    monkeypatch.setenv(
        "WOOSYNC_STORES",
        '{"eu": {"webhook_secret": "s-eu", "warehouses": ["WH", "WH2"], "ship_from": "WH2",'
        ' "webhook_secrets": {"17": "s-17"}, "sku_map": {"TEE-M": "T100-M"}}}',
    )
    monkeypatch.setenv("WOOSYNC_PARTITIONS", "4")
    settings = Settings()
    store = settings.store("eu")
    assert settings.bootstrap_servers == "10.1.1.1:9093"
    assert settings.partitions == 4
    secret = store.secret_for(17)
    assert secret is not None and secret.get_secret_value() == "s-17"
    # Per-webhook secrets configured: an unknown webhook id has no secret (refused), it
    # does not fall back to the store's.
    assert store.secret_for(18) is None
    assert store.secret_for(None) is None
    plain = StoreSettings(webhook_secret=SecretStr("s-plain"))
    assert plain.secret_for(18) == plain.secret_for(None) == SecretStr("s-plain")
    assert store.erp_code("TEE-M") == "T100-M"
    assert store.erp_code("OTHER") == "OTHER"
    assert store.warehouses == ("WH", "WH2")


def test_secrets_do_not_print() -> None:
    settings = load_settings()
    assert "demo-webhook-secret" not in repr(settings)


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValidationError):
        settings.partitions = 3  # type: ignore[misc]


def test_ship_from_must_be_a_served_warehouse() -> None:
    with pytest.raises(ValidationError, match="ship_from"):
        load_settings(stores={"x": {"warehouses": ["A"], "ship_from": "B"}})


def test_store_ids_must_be_plain() -> None:
    with pytest.raises(ValidationError, match="store id"):
        load_settings(stores={"a:b": {}})


def test_unknown_store_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown store 'nope'"):
        load_settings().store("nope")


def test_a_worker_without_secrets_refuses_to_start_naming_them(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from streams.cli import main

    for name in [k for k in __import__("os").environ if k.startswith("WOOSYNC_")]:
        monkeypatch.delenv(name)
    assert load_settings().missing_secrets() == [
        "WOOSYNC_STORES__DEMO__CONSUMER_KEY", "WOOSYNC_STORES__DEMO__CONSUMER_SECRET",
        "WOOSYNC_STORES__DEMO__WEBHOOK_SECRET", "WOOSYNC_ERP_PASSWORD"]
    assert main(["worker"]) == 2
    err = capsys.readouterr().err
    assert "refusing to start" in err and "WOOSYNC_ERP_PASSWORD" in err
    # A store-only worker needs no ERP password; per-webhook secrets replace the one.
    only = load_settings(stores={"eu": {"consumer_key": "k", "consumer_secret": "s",
                                        "webhook_secrets": {"3": "w"}}})
    assert only.missing_secrets(("store_sink", "woo_normalize")) == []
