package rta.udf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

class DistinctCountTest {
    private final DistinctCount count = new DistinctCount();

    @Test
    void countsDistinctNonNullValues() {
        DistinctCount.Seen seen = count.createAccumulator();
        assertEquals(0L, count.getValue(seen));
        for (String v : new String[] {"a", "b", "a", null, "c", "b"}) {
            count.accumulate(seen, v);
        }
        assertEquals(3L, count.getValue(seen));
    }

    @Test
    void mergesPartialSets() {
        DistinctCount.Seen left = count.createAccumulator();
        DistinctCount.Seen right = count.createAccumulator();
        count.accumulate(left, "a");
        count.accumulate(right, "a");
        count.accumulate(right, "z");
        count.merge(left, List.of(right));
        assertEquals(2L, count.getValue(left));
    }
}
