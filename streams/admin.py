"""Creates the registry's topics on the broker and checks the ones that exist.

Faust does not create the topics an app reads from (it ignores a missing source topic),
and a topic auto-created by a producer gets the broker's default partition count, which
breaks co-partitioning. So every entry point (worker, demo, tests) runs ``ensure_topics``
first (with the changelog topic of every table of the app): missing topics are created
with the configured partitions, replication, cleanup
policy, retention and ``min.insync.replicas``; an existing one that differs in any of
them is an error, never silently used.
"""

from __future__ import annotations

import time

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from streams.errors import TopicLayoutError
from streams.settings import Settings
from streams.topics import ALL, Cleanup, TopicSpec
from tables.registry import ALL as TABLES


def changelogs(settings: Settings) -> tuple[TopicSpec, ...]:
    """The changelog topic of every registry table, as Faust names it for this app: made
    here with the others, so that a table's first write never races Faust creating its
    changelog (a worker that wrote before the topic's metadata arrived dead-lettered the
    input with PartitionsMismatch)."""
    return tuple(TopicSpec(f"{settings.app_id}-{table.name}-changelog", table.key,
                           (table.row.__name__,), Cleanup.COMPACT) for table in TABLES)


def ensure_topics(settings: Settings, specs: tuple[TopicSpec, ...] | None = None,
                  settle_seconds: float = 15.0) -> list[str]:
    """Create what is missing, verify what exists; return the names created. By default
    the registry's topics and this app's table changelogs."""
    specs = (*ALL, *changelogs(settings)) if specs is None else specs
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers,
                             client_id=f"{settings.app_id}-admin")
    try:
        existing = set(admin.list_topics())
        created = []
        for spec in specs:
            if spec.name in existing:
                continue
            try:
                admin.create_topics([NewTopic(spec.name, settings.partitions,
                                              settings.replication_factor,
                                              topic_configs=spec.config(settings))])
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass  # another worker created it in between; it is checked below
        # Metadata of a topic created a moment ago can still show no partitions: give
        # the controller a few seconds before calling a layout wrong.
        deadline = time.monotonic() + settle_seconds
        while True:
            problems = _layout_problems(admin, settings, specs)
            if not problems:
                return created
            if time.monotonic() > deadline:
                raise TopicLayoutError("; ".join(problems))
            time.sleep(0.3)
    finally:
        admin.close()


def _layout_problems(admin: KafkaAdminClient, settings: Settings,
                     specs: tuple[TopicSpec, ...]) -> list[str]:
    described = {t["name"]: t for t in admin.describe_topics([s.name for s in specs])}
    wanted = {spec.name: spec.config(settings) for spec in specs}
    resources = [ConfigResource(ConfigResourceType.TOPIC, s.name,
                                configs=sorted(wanted[s.name])) for s in specs]
    configs = admin.describe_configs(resources).get("topic", {})
    problems = []
    for spec in specs:
        partitions = described.get(spec.name, {}).get("partitions") or []
        if len(partitions) != settings.partitions:
            problems.append(f"{spec.name} has {len(partitions)} partitions, the registry"
                            f" wants {settings.partitions}")
        replicas = min((len(p.get("replica_nodes") or p.get("replicas") or [])
                        for p in partitions), default=0)
        if partitions and replicas != settings.replication_factor:
            problems.append(f"{spec.name} has {replicas} replicas, the settings want"
                            f" {settings.replication_factor}")
        for name, value in sorted(wanted[spec.name].items()):
            have = configs.get(spec.name, {}).get(name, {}).get("value")
            if have != value:
                problems.append(f"{spec.name} has {name}={have}, the registry wants {value}")
    return problems
