from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Query
from kafka.errors import KafkaError

from api.deps import SettingsDep
from api.errors import NOT_FOUND, UNAVAILABLE, NotFound, Unavailable
from api.schemas import PartitionState, TopicRecord, TopicRecords, Topics, TopicState
from query import topics as kafka_topics

router = APIRouter(prefix="/kafka", tags=["kafka"])
log = logging.getLogger("rta.api.kafka")
TOPIC_PATTERN = r"^[a-zA-Z0-9._-]{1,249}$"
"""Kafka's own rule for topic names."""
READ_TIMEOUT_S = 15.0


@router.get("/topics", responses=UNAVAILABLE)
def topics(settings: SettingsDep) -> Topics:
    """Every topic's partitions with their offsets and each consumer group's lag (what `rta topics` shows)."""
    if not kafka_topics.reachable(settings):
        raise Unavailable(f"Kafka at {settings.kafka_bootstrap} is unreachable")
    try:
        parts = kafka_topics.describe(settings)
    except KafkaError as exc:
        log.warning("Kafka at %s: %s", settings.kafka_bootstrap, exc)  # the client's words stay in the log
        raise Unavailable(f"Kafka at {settings.kafka_bootstrap} did not answer") from exc
    grouped: dict[str, list[PartitionState]] = {}
    for p in parts:
        grouped.setdefault(p.topic, []).append(
            PartitionState(partition=p.partition, start_offset=p.start, end_offset=p.end, lag=p.lag)
        )
    return Topics(
        bootstrap=settings.kafka_bootstrap,
        data=[TopicState(topic=name, partitions=ps) for name, ps in grouped.items()],
    )


@router.get("/topics/{topic}/records", responses={**NOT_FOUND, **UNAVAILABLE})
def records(
    settings: SettingsDep,
    topic: Annotated[str, Path(pattern=TOPIC_PATTERN, description="a topic name")],
    last: Annotated[int, Query(ge=1, le=100, description="records per partition")] = 5,
) -> TopicRecords:
    """A topic's newest committed records per partition, values pretty-printed (what `rta tail` shows)."""
    if not kafka_topics.reachable(settings):
        raise Unavailable(f"Kafka at {settings.kafka_bootstrap} is unreachable")
    try:
        got = list(kafka_topics.tail(settings, topic, last, follow=False, timeout_s=READ_TIMEOUT_S))
    except ValueError as exc:
        raise NotFound("topic", "no topic of this name") from exc
    except (KafkaError, TimeoutError) as exc:
        log.warning("Kafka at %s: %s", settings.kafka_bootstrap, exc)  # the client's words stay in the log
        raise Unavailable(f"Kafka at {settings.kafka_bootstrap} did not answer") from exc
    return TopicRecords(
        topic=topic,
        data=[
            TopicRecord(
                partition=r.partition, offset=r.offset, timestamp=r.timestamp, key=r.key, value=r.value
            )
            for r in got
        ],
    )
