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
    void epochMillisOfAnyInstant() {
        assertEquals(Long.MAX_VALUE, new EpochMillis().eval(Instant.ofEpochMilli(Long.MAX_VALUE)));
        assertNull(new EpochMillis().eval(null));
    }
}
