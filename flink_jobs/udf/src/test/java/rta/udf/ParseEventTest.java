package rta.udf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;

import org.junit.jupiter.api.Test;

class ParseEventTest {
    @Test
    void deadLetterPayloadIsTextWhenItCanBeElseBase64() {
        assertEquals("{\"a\":1}", EventContract.deadLetterPayload("{\"a\":1}".getBytes(StandardCharsets.UTF_8), 10)[0]);
        byte[] bad = {(byte) 0xff, 'a'};
        String[] dead = EventContract.deadLetterPayload(bad, 10);
        assertEquals("base64", dead[1]);
        assertEquals(Base64.getEncoder().encodeToString(bad), dead[0]);
        String[] nul = EventContract.deadLetterPayload("a\0b".getBytes(StandardCharsets.UTF_8), 10);
        assertEquals("base64", nul[1]);
        String[] big = EventContract.deadLetterPayload("0123456789ab".getBytes(StandardCharsets.UTF_8), 10);
        assertEquals(Base64.getEncoder().encodeToString("0123456789".getBytes(StandardCharsets.UTF_8)), big[0]);
        assertNull(EventContract.deadLetterPayload(null, 10)[0]);
    }

    @Test
    void quarantineListsPartitionOffsetAndReason() {
        var map = ParseEvent.parseQuarantine("[{\"partition\":2,\"offset\":17,\"reason\":\"made the job fail\"}]");
        assertEquals("made the job fail", map.get((2L << 48) ^ 17L));
        assertNull(map.get((1L << 48) ^ 17L));
    }

    @Test
    void outputTypeHasEveryContractColumnThenTheReasons() {
        String type = ParseEvent.outputType().toString();
        assertEquals(true, type.startsWith("ROW<`event_id` STRING, `event_type` STRING, `event_timestamp` BIGINT"), type);
        assertEquals(true, type.endsWith("`payload_encoding` STRING, `payload_bytes` INT>"), type);
    }

    @Test
    void aVerdictDoesNotDependOnThePayloadsBefore() {
        // Names that share one String hash: a shared name table would throw once a slot overflows.
        StringBuilder payload = new StringBuilder("{\"event_type\":\"refund\"");
        String[] blocks = {"Aa", "B@"}; // equal under Jackson's name hash (x33)
        for (int i = 0; i < 512; i++) {
            StringBuilder name = new StringBuilder();
            for (int bit = 0; bit < 9; bit++) {
                name.append(blocks[(i >> bit) & 1]);
            }
            payload.append(",\"").append(name).append("\":0");
        }
        byte[] bytes = payload.append('}').toString().getBytes(StandardCharsets.UTF_8);
        EventContract contract = EventContract.get();
        for (int round = 0; round < 5; round++) {
            assertEquals("not_allowed", contract.check(bytes, null, "UTC", 0, 0).code, "round " + round);
        }
    }

    @Test
    void longFieldNamesAreJson() {
        String payload = "{\"" + "k".repeat(60_000) + "\":1}";
        assertEquals("missing", EventContract.get().check(payload.getBytes(StandardCharsets.UTF_8), null, "UTC", 0, 0).code);
    }

    @Test
    void epochMillisOfAnyInstant() {
        assertEquals(Long.MAX_VALUE, new EpochMillis().eval(Instant.ofEpochMilli(Long.MAX_VALUE)));
        assertNull(new EpochMillis().eval(null));
    }
}
