package rta.udf;

import java.util.HashSet;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.functions.AggregateFunction;

/**
 * {@code DISTINCT_COUNT(x)}: the number of distinct non-null values, for append-only input (no
 * retraction). Same result as {@code COUNT(DISTINCT x)}, but its set is one value in the aggregate's
 * state instead of a map state: Flink's incremental TTL cleanup copies a whole map state each time it
 * visits it, which made a minute with tens of thousands of users cost that much per event
 * (docs/benchmarks.md). Checkpointed with Kryo, like any RAW value.
 */
@FunctionHint(
        input = @DataTypeHint("STRING"),
        accumulator = @DataTypeHint(value = "RAW", bridgedTo = DistinctCount.Seen.class),
        output = @DataTypeHint("BIGINT NOT NULL"))
public class DistinctCount extends AggregateFunction<Long, DistinctCount.Seen> {

    /** The values seen so far. */
    public static final class Seen {
        public HashSet<String> values = new HashSet<>();
    }

    @Override
    public Seen createAccumulator() {
        return new Seen();
    }

    public void accumulate(Seen seen, String value) {
        if (value != null) {
            seen.values.add(value);
        }
    }

    public void merge(Seen seen, Iterable<Seen> others) {
        for (Seen other : others) {
            seen.values.addAll(other.values);
        }
    }

    @Override
    public Long getValue(Seen seen) {
        return (long) seen.values.size();
    }
}
