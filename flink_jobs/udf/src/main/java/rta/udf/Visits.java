package rta.udf;

import java.util.Arrays;

import org.apache.flink.table.annotation.ArgumentHint;
import org.apache.flink.table.annotation.ArgumentTrait;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.StateHint;
import org.apache.flink.table.functions.ProcessTableFunction;
import org.apache.flink.types.Row;

/**
 * {@code VISITS(input => TABLE t PARTITION BY user_id, gap_ms, horizon_ms)}: a user's events split into visits wherever two are at least {@code gap_ms} apart by
 * event time (a session window, as core.metrics.Visit defines it), kept up to date as events arrive in
 * any order.
 *
 * <p>Each event emits its visit as it now stands, keyed by (user_id, visit_start), with {@code version}
 * = its events. An event that joins two visits, or comes before a visit's start, changes keys: the rows
 * of the old keys are emitted once more, {@code superseded}, with a larger version, because the store
 * (Pinot upsert) cannot delete a row. A superseded key never comes back: starts only move earlier and
 * visits only merge.
 *
 * <p>The output is append-only, and late events are counted, not dropped. A visit is forgotten once the
 * watermark is {@code horizon_ms} past its end, and a user's state once the watermark is that far past
 * the user's newest event (an event-time timer). An event arriving later than that for one of its
 * visits starts a visit of its own instead of joining it: docs/pipeline.md says when that can happen.
 */
@DataTypeHint(
        "ROW<visit_start BIGINT NOT NULL, visit_end BIGINT NOT NULL, events BIGINT NOT NULL,"
                + " page_views BIGINT NOT NULL, superseded BOOLEAN NOT NULL, version BIGINT NOT NULL>")
public class Visits extends ProcessTableFunction<Row> {

    /** The user's open visits, column by column (unordered); newest is the newest event time seen. */
    public static class Open {
        public long[] starts = new long[0];
        public long[] ends = new long[0];
        public long[] events = new long[0];
        public long[] pageViews = new long[0];
        public Long newest;
    }

    public void eval(
            Context ctx,
            // No TTL: the "expire" timer clears a user's state (by event time, not wall-clock time).
            @StateHint(name = "open", ttl = "0") Open open,
            // No on_time argument: with one, Flink drops the rows behind the watermark before eval().
            @ArgumentHint(value = ArgumentTrait.SET_SEMANTIC_TABLE, name = "input") Row input,
            @ArgumentHint(name = "gap_ms") Long gapMs,
            @ArgumentHint(name = "horizon_ms") Long horizonMs) {
        long t = input.<Long>getFieldAs("event_timestamp");
        long pageView = "page_view".equals(input.getFieldAs("event_type")) ? 1 : 0;
        TimeContext<Long> time = ctx.timeContext(Long.class);
        apply(open, t, pageView, gapMs, time.currentWatermark(), horizonMs, this::collect);
        time.registerOnTime("expire", open.newest + horizonMs);
    }

    public void onTimer(OnTimerContext ctx, Open open) {
        ctx.clearAll();
    }

    /** Where the rows go: collect() in the job, a list in the unit test. */
    interface Emit {
        void row(Row row);
    }

    /**
     * One event at {@code t}: merge the visits it touches, emit the changes, and forget the visits that
     * ended {@code horizon} before the watermark (null: none yet). Judged by the watermark, not by the
     * user's newest event: one user's events come from several partitions, read at different paces.
     */
    static void apply(Open open, long t, long pageView, long gap, Long watermark, long horizon, Emit emit) {
        long start = t;
        long end = t;
        long events = 1;
        long pageViews = pageView;
        boolean[] merged = new boolean[open.starts.length];
        for (int i = 0; i < open.starts.length; i++) {
            // windows [s, e + gap) and [t, t + gap) overlap: Flink's session-window merge rule
            if (t < open.ends[i] + gap && open.starts[i] < t + gap) {
                merged[i] = true;
                start = Math.min(start, open.starts[i]);
                end = Math.max(end, open.ends[i]);
                events += open.events[i];
                pageViews += open.pageViews[i];
            }
        }
        for (int i = 0; i < open.starts.length; i++) {
            if (merged[i] && open.starts[i] != start) {
                emit.row(Row.of(open.starts[i], open.ends[i], open.events[i], open.pageViews[i], true, open.events[i] + 1));
            }
        }
        emit.row(Row.of(start, end, events, pageViews, false, events));
        long newest = open.newest == null ? t : Math.max(open.newest, t);
        int kept = 0;
        int n = open.starts.length;
        long[] starts = new long[n + 1];
        long[] ends = new long[n + 1];
        long[] counts = new long[n + 1];
        long[] views = new long[n + 1];
        for (int i = 0; i < n; i++) {
            if (!merged[i] && (watermark == null || open.ends[i] >= watermark - horizon)) {
                starts[kept] = open.starts[i];
                ends[kept] = open.ends[i];
                counts[kept] = open.events[i];
                views[kept] = open.pageViews[i];
                kept++;
            }
        }
        starts[kept] = start;
        ends[kept] = end;
        counts[kept] = events;
        views[kept] = pageViews;
        kept++;
        open.starts = Arrays.copyOf(starts, kept);
        open.ends = Arrays.copyOf(ends, kept);
        open.events = Arrays.copyOf(counts, kept);
        open.pageViews = Arrays.copyOf(views, kept);
        open.newest = newest;
    }
}
