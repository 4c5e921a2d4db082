-- Valid events (copies included), each flagged late when it arrived more than the watermark delay
-- behind the newest valid event already read from its Kafka partition: outside the out-of-orderness the
-- watermark allows. Decided per partition in offset order rather than with CURRENT_WATERMARK, whose
-- value depends on how the source interleaves partitions and is not restored after a failover, so a
-- replay flags exactly the same events. The flag is informational: late events still count in their
-- minute (docs/pipeline.md).
CREATE TEMPORARY VIEW flagged_events AS
SELECT *, event_time < MAX(event_time) OVER arrival - ${watermark_delay} AS is_late
FROM valid_events
WINDOW arrival AS (
  PARTITION BY source_partition ORDER BY proc_time ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
)
