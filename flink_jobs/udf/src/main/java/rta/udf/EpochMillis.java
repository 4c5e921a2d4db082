package rta.udf;

import java.time.Instant;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * {@code EPOCH_MILLIS(ts)}: a TIMESTAMP_LTZ(3) as epoch milliseconds. Unlike
 * {@code UNIX_TIMESTAMP(CAST(ts AS STRING))} it cannot fail for any timestamp a Kafka record carries.
 */
public class EpochMillis extends ScalarFunction {
    public Long eval(@DataTypeHint("TIMESTAMP_LTZ(3)") Instant ts) {
        return ts == null ? null : ts.toEpochMilli();
    }
}
