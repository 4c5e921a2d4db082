"""Kafka topics are created on purpose (auto-creation is off), with their partition count."""

from __future__ import annotations

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from core.settings import Settings

DIMENSION_TOPIC_CONFIG = {"cleanup.policy": "compact", "min.compaction.lag.ms": "3600000"}
"""A dimension topic keeps each key's newest version (and, for an hour at least, the ones before)."""


def ensure_topic(
    settings: Settings, name: str, partitions: int = 3, config: dict[str, str] | None = None
) -> None:
    """Create the topic if it does not exist yet (idempotent)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="rta-admin")
    try:
        admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1, topic_configs=config or {})]
        )
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()
