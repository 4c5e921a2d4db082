package rta.udf;

import java.util.Arrays;
import org.apache.flink.table.annotation.ArgumentHint;
import org.apache.flink.table.annotation.ArgumentTrait;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.StateHint;
import org.apache.flink.table.functions.ProcessTableFunction;
import org.apache.flink.types.Row;

/**
 * {@link Visits} for a rebuild's job ({@code rta backfill --from}, flink_jobs/since.py): the same rows,
 * each with {@code rta_touched} = 1 when any event of its visit so far is at or past the rebuild's cut
 * (its input's {@code after_cut}), else 0. The flag is kept per open visit and ORed when visits merge,
 * so it does not depend on the order the events come in; the superseded rows of a merge carry the merged
 * visit's flag. The rebuild keeps a visit row that is owned or touched.
 */
@DataTypeHint(
        "ROW<visit_start BIGINT NOT NULL, visit_end BIGINT NOT NULL, events BIGINT NOT NULL,"
                + " page_views BIGINT NOT NULL, superseded BOOLEAN NOT NULL, version BIGINT NOT NULL,"
                + " rta_touched INT NOT NULL>")
public class VisitsFlagged extends ProcessTableFunction<Row> {

    /** {@link Visits.Open} with, per open visit, whether an event past the cut is in it. */
    public static class Open extends Visits.Open {
        public boolean[] touched = new boolean[0];
    }

    public void eval(
            Context ctx,
            @StateHint(name = "open", ttl = "0") Open open,
            @ArgumentHint(value = ArgumentTrait.SET_SEMANTIC_TABLE, name = "input") Row input,
            @ArgumentHint(name = "gap_ms") Long gapMs,
            @ArgumentHint(name = "horizon_ms") Long horizonMs) {
        long t = input.<Long>getFieldAs("event_timestamp");
        long pageView = "page_view".equals(input.getFieldAs("event_type")) ? 1 : 0;
        TimeContext<Long> time = ctx.timeContext(Long.class);
        Long watermark = time.currentWatermark();
        boolean touched = touchedAfter(open, t, Boolean.TRUE.equals(input.getFieldAs("after_cut")), gapMs, watermark, horizonMs);
        Row flag = Row.of(touched ? 1 : 0);
        Visits.apply(open, t, pageView, gapMs, watermark, horizonMs, row -> collect(Row.join(row, flag)));
        time.registerOnTime("expire", open.newest + horizonMs);
    }

    public void onTimer(OnTimerContext ctx, Open open) {
        ctx.clearAll();
    }

    /**
     * The merged visit's flag for an event at {@code t}, and {@code open.touched} laid out as
     * {@link Visits#apply} is about to lay out the open visits: the kept ones in order, then the merged
     * one (the same merge and expiry rules).
     */
    static boolean touchedAfter(Open open, long t, boolean flag, long gap, Long watermark, long horizon) {
        int n = open.starts.length;
        boolean any = flag;
        boolean[] next = new boolean[n + 1];
        int kept = 0;
        for (int i = 0; i < n; i++) {
            boolean was = i < open.touched.length && open.touched[i];
            if (t < open.ends[i] + gap && open.starts[i] < t + gap) {
                any |= was;
            } else if (watermark == null || open.ends[i] >= watermark - horizon) {
                next[kept++] = was;
            }
        }
        next[kept++] = any;
        open.touched = Arrays.copyOf(next, kept);
        return any;
    }
}
