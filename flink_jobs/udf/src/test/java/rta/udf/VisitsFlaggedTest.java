package rta.udf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.apache.flink.types.Row;
import org.junit.jupiter.api.Test;

class VisitsFlaggedTest {
    private static final long MIN = 60_000;
    private static final long GAP = 30 * MIN;
    private static final long HORIZON = 3 * 60 * MIN;

    /** One event through the flag and the visit logic, as VisitsFlagged.eval does; the rows' flags. */
    private static List<Integer> event(VisitsFlagged.Open open, long minute, boolean pastCut, Long watermark) {
        List<Integer> flags = new ArrayList<>();
        boolean touched = VisitsFlagged.touchedAfter(open, minute * MIN, pastCut, GAP, watermark, HORIZON);
        Visits.apply(open, minute * MIN, 1, GAP, watermark, HORIZON, (Row row) -> flags.add(touched ? 1 : 0));
        assertEquals(open.starts.length, open.touched.length); // one flag per open visit, aligned
        return flags;
    }

    @Test
    void aVisitIsTouchedWhicheverOrderItsEventsComeIn() {
        VisitsFlagged.Open inOrder = new VisitsFlagged.Open();
        assertEquals(List.of(0), event(inOrder, 100, false, null));
        assertEquals(List.of(1), event(inOrder, 110, true, null));
        assertEquals(List.of(1), event(inOrder, 120, false, null)); // still the touched visit

        VisitsFlagged.Open reversed = new VisitsFlagged.Open();
        assertEquals(List.of(1), event(reversed, 110, true, null));
        assertEquals(List.of(1, 1), event(reversed, 100, false, null)); // key moves: superseded + new
        assertEquals(List.of(1), event(reversed, 120, false, null));
    }

    @Test
    void aMergeCarriesTheFlagOfEitherSideAndSeparateVisitsKeepTheirOwn() {
        VisitsFlagged.Open open = new VisitsFlagged.Open();
        event(open, 100, false, null);
        event(open, 150, true, null); // a visit of its own, touched
        event(open, 300, false, null); // another, untouched
        assertArrayEquals(new boolean[] {false, true, false}, open.touched);
        assertEquals(List.of(1, 1), event(open, 125, false, null)); // joins 100 and 150: touched
        assertArrayEquals(new boolean[] {false, true}, open.touched); // 300 kept, then the merged visit
        assertEquals(List.of(0), event(open, 310, false, null));
        assertFalse(open.touched[1]);
        assertTrue(open.touched[0]);
    }

    @Test
    void anExpiredVisitTakesItsFlagWithIt() {
        VisitsFlagged.Open open = new VisitsFlagged.Open();
        event(open, 0, true, null);
        event(open, 1000, false, 1000 * MIN); // the first visit is past the horizon: forgotten
        assertEquals(1, open.starts.length);
        assertArrayEquals(new boolean[] {false}, open.touched);
    }
}
