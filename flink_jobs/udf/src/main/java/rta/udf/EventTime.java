package rta.udf;

import java.util.Arrays;

import org.apache.flink.table.functions.ScalarFunction;

/**
 * {@code EVENT_TIME_MILLIS(payload, record_ts_ms, naive_zone, max_lateness_ms, max_future_ms)}: the event
 * time (epoch millis) of a record the contract accepts, else NULL; for the source's watermark. It and
 * {@link ParseEvent} run on the same record one after the other in one task thread, so the verdict of
 * the last record is kept per thread and not computed twice.
 */
public class EventTime extends ScalarFunction {
    private static final class Last {
        byte[] payload;
        Long recordTimestamp;
        String zone;
        long lateness;
        long future;
        EventContract.Result result;
    }

    private static final ThreadLocal<Last> LAST = ThreadLocal.withInitial(Last::new);

    public Long eval(byte[] payload, Long recordTimestamp, String naiveZone, Long maxLatenessMs,
            Long maxFutureMs) {
        EventContract.Result result = check(payload, recordTimestamp, naiveZone, maxLatenessMs, maxFutureMs);
        return result.accepted() ? result.eventTimeMillis : null;
    }

    static EventContract.Result check(byte[] payload, Long recordTimestamp, String naiveZone, Long maxLatenessMs,
            Long maxFutureMs) {
        long lateness = maxLatenessMs == null ? 0 : maxLatenessMs;
        long future = maxFutureMs == null ? 0 : maxFutureMs;
        String zone = naiveZone == null ? "UTC" : naiveZone;
        Last last = LAST.get();
        if (last.result != null && Arrays.equals(payload, last.payload)
                && java.util.Objects.equals(recordTimestamp, last.recordTimestamp) && zone.equals(last.zone)
                && lateness == last.lateness && future == last.future) {
            return last.result;
        }
        EventContract.Result result = EventContract.get().check(payload, recordTimestamp, zone, lateness, future);
        last.payload = payload;
        last.recordTimestamp = recordTimestamp;
        last.zone = zone;
        last.lateness = lateness;
        last.future = future;
        last.result = result;
        return result;
    }
}
