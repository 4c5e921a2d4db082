package rta.udf;

import org.apache.flink.table.annotation.ArgumentHint;
import org.apache.flink.table.annotation.ArgumentTrait;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.StateHint;
import org.apache.flink.table.functions.ProcessTableFunction;
import org.apache.flink.types.Row;

/**
 * {@link Visits} for a rebuild's job ({@code rta backfill --from}, flink_jobs/since.py): the same rows,
 * each with {@code rta_touched} = 1 when the event that caused it is at or past the rebuild's cut (its
 * input's {@code after_cut}), else 0. The rebuild keeps a visit row that is owned or touched.
 */
@DataTypeHint(
        "ROW<visit_start BIGINT NOT NULL, visit_end BIGINT NOT NULL, events BIGINT NOT NULL,"
                + " page_views BIGINT NOT NULL, superseded BOOLEAN NOT NULL, version BIGINT NOT NULL,"
                + " rta_touched INT NOT NULL>")
public class VisitsFlagged extends ProcessTableFunction<Row> {

    public void eval(
            Context ctx,
            @StateHint(name = "open", ttl = "0") Visits.Open open,
            @ArgumentHint(value = ArgumentTrait.SET_SEMANTIC_TABLE, name = "input") Row input,
            @ArgumentHint(name = "gap_ms") Long gapMs,
            @ArgumentHint(name = "horizon_ms") Long horizonMs) {
        long t = input.<Long>getFieldAs("event_timestamp");
        long pageView = "page_view".equals(input.getFieldAs("event_type")) ? 1 : 0;
        Row touched = Row.of(Boolean.TRUE.equals(input.getFieldAs("after_cut")) ? 1 : 0);
        TimeContext<Long> time = ctx.timeContext(Long.class);
        Visits.apply(open, t, pageView, gapMs, time.currentWatermark(), horizonMs, row -> collect(Row.join(row, touched)));
        time.registerOnTime("expire", open.newest + horizonMs);
    }

    public void onTimer(OnTimerContext ctx, Visits.Open open) {
        ctx.clearAll();
    }
}
