package rta.udf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;

import org.apache.flink.types.Row;
import org.junit.jupiter.api.Test;

class VisitsTest {
    private static final long MIN = 60_000;
    private static final long GAP = 30 * MIN;
    private static final long HORIZON = 3 * 60 * MIN;

    private final Visits.Open open = new Visits.Open();
    private final List<Row> rows = new ArrayList<>();

    private Long watermark = null;

    private void event(long minute, boolean pageView) {
        Visits.apply(open, minute * MIN, pageView ? 1 : 0, GAP, watermark, HORIZON, rows::add);
    }

    private static Row row(long start, long end, long events, long pageViews, boolean superseded, long version) {
        return Row.of(start * MIN, end * MIN, events, pageViews, superseded, version);
    }

    @Test
    void aLateEventJoinsTwoVisitsAndAnEarlierOneMovesTheStart() {
        event(100, true);
        event(150, true); // 50 minutes later: a visit of its own
        assertEquals(List.of(row(100, 100, 1, 1, false, 1), row(150, 150, 1, 1, false, 1)), rows);
        rows.clear();
        event(125, true); // 25 minutes from each: one visit, the later key superseded
        assertEquals(List.of(row(150, 150, 1, 1, true, 2), row(100, 150, 3, 3, false, 3)), rows);
        rows.clear();
        event(93, false); // 7 minutes before the start: the start moves, the old key is superseded
        assertEquals(List.of(row(100, 150, 3, 3, true, 4), row(93, 150, 4, 3, false, 4)), rows);
        rows.clear();
        event(180, true); // exactly the gap after the last event: a new visit
        assertEquals(List.of(row(180, 180, 1, 1, false, 1)), rows);
        assertArrayEquals(new long[] {93 * MIN, 180 * MIN}, open.starts);
    }

    @Test
    void eventsWithinTheGapExtendTheVisitWithoutSupersedingIt() {
        event(0, true);
        event(29, false);
        event(58, true);
        assertEquals(row(0, 58, 3, 2, false, 3), rows.get(2));
        assertEquals(1, open.starts.length);
    }

    @Test
    void visitsAreForgottenOnceTheWatermarkIsTheHorizonPastTheirEnd() {
        event(0, true);
        event(500, true); // far ahead, but without a watermark nothing is known to be final
        assertEquals(2, open.starts.length);
        watermark = 180 * MIN - 1; // not yet the horizon past the first visit
        event(501, true);
        assertArrayEquals(new long[] {0, 500 * MIN}, open.starts);
        watermark = 180 * MIN + 1;
        event(502, true);
        assertArrayEquals(new long[] {500 * MIN}, open.starts);
        assertEquals(502 * MIN, open.newest);
    }

    @Test
    void aUsersEventsFarApartInArrivalStillJoinTheirVisits() {
        // the review's case: one user's sessions read from two partitions at different paces
        for (long minute : new long[] {720, 600, 725, 620, 610}) {
            event(minute, true);
        }
        assertArrayEquals(new long[] {720 * MIN, 600 * MIN}, open.starts);
        assertArrayEquals(new long[] {2, 3}, open.events);
    }
}
