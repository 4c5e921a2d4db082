package rta.udf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class JsonFieldsTest {
    private final JsonFields fields = new JsonFields();
    private final JsonEpochMillis millis = new JsonEpochMillis();
    private static final String[] NAMES = {"a", "b", "c"};

    private String[] read(String payload) {
        return fields.eval(payload, NAMES);
    }

    @Test
    void tagsEachJsonTypeAndLeavesAbsentFieldsNull() {
        assertArrayEquals(new String[] {"sx\"y", "i-12", null}, read("{\"a\":\"x\\\"y\",\"b\":-12}"));
        assertArrayEquals(new String[] {"n1.5e3", "z", "o"}, read("{\"a\":1.5e3,\"b\":null,\"c\":true}"));
        assertArrayEquals(new String[] {"o", "o", "s"}, read("{\"a\":{\"k\":[1]},\"b\":[],\"c\":\"\"}"));
    }

    @Test
    void skipsOtherFieldsAndKeepsTheLastOfARepeatedKey() {
        assertArrayEquals(
                new String[] {"s2", null, "i7"}, read("{\"z\":{\"a\":\"nested\"},\"a\":\"1\",\"c\":7,\"a\":\"2\"}"));
    }

    @Test
    void numbersTooLargeForADoubleAreNotNumbers() {
        assertArrayEquals(new String[] {"o", "i123456789012345678901234567890", null},
                read("{\"a\":1e400,\"b\":123456789012345678901234567890}"));
    }

    @Test
    void anythingButExactlyOneObjectIsNull() {
        for (String bad : new String[] {"", " ", "[1]", "\"a\"", "{\"a\":1", "{\"a\":1}{}", "{\"a\":1} x",
                "{\"a\":01}", "{\"a\":NaN}", "{'a':1}", "null", "{\"a\":", "{\"a\""}) {
            assertNull(read(bad), bad);
        }
        assertNull(fields.eval(null, NAMES));
    }

    @Test
    void epochMillisReadsOnlyIntegersOfAtMostFifteenDigits() {
        assertEquals(1700000000123L, millis.eval("{\"t\":1700000000123,\"x\":[1,{\"t\":2}]}", "t"));
        assertEquals(-5L, millis.eval("{\"t\":-5}", "t"));
        assertEquals(2L, millis.eval("{\"t\":1,\"t\":2}", "t"));
        assertEquals(999999999999999L, millis.eval("{\"t\":999999999999999}", "t"));
        for (String bad : new String[] {"{\"t\":1000000000000000}", "{\"t\":1.0}", "{\"t\":\"1\"}",
                "{\"t\":null}", "{\"u\":1}", "{\"t\":1", "{\"t\":1}]", "{\"t\":2,\"t\":\"x\"}"}) {
            assertNull(millis.eval(bad, "t"), bad);
        }
    }
}
