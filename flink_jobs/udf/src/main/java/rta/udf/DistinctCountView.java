package rta.udf;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.api.dataview.MapView;
import org.apache.flink.table.functions.AggregateFunction;

/**
 * {@code DISTINCT_COUNT(x)} for the RocksDB state backend: the same result as {@link DistinctCount},
 * but the values seen live in a {@link MapView}, which Flink keeps as a map state, one RocksDB entry
 * per value. RocksDB serialises a state value on every read and write: {@link DistinctCount}'s one set
 * would cost its whole size per event, a map state costs one entry. (On the heap backend it is the
 * other way round, see {@link DistinctCount}.)
 */
@FunctionHint(input = @DataTypeHint("STRING"), output = @DataTypeHint("BIGINT NOT NULL"))
public class DistinctCountView extends AggregateFunction<Long, DistinctCountView.Seen> {

    /** The values seen so far, and how many (a map view cannot count itself without a scan). */
    public static final class Seen {
        public MapView<String, Boolean> values = new MapView<>();
        public long count = 0L;
    }

    @Override
    public Seen createAccumulator() {
        return new Seen();
    }

    public void accumulate(Seen seen, String value) throws Exception {
        if (value != null && !seen.values.contains(value)) {
            seen.values.put(value, Boolean.TRUE);
            seen.count += 1;
        }
    }

    public void merge(Seen seen, Iterable<Seen> others) throws Exception {
        for (Seen other : others) {
            for (String value : other.values.keys()) {
                accumulate(seen, value);
            }
        }
    }

    @Override
    public Long getValue(Seen seen) {
        return seen.count;
    }
}
