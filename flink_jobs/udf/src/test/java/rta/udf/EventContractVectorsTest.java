package rta.udf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** The shared vectors (tests/vectors/event_contract.jsonl), which the Python checker and the job also pass. */
class EventContractVectorsTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private final EventContract contract = EventContract.get();

    static List<JsonNode> vectors() throws IOException {
        String location = System.getProperty("rta.vectors");
        assertNotNull(location, "system property rta.vectors (set by the pom)");
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(location), StandardCharsets.UTF_8)) {
            if (!line.isBlank()) {
                out.add(MAPPER.readTree(line));
            }
        }
        return out;
    }

    static byte[] payload(JsonNode vector) {
        if (vector.has("payload_b64")) {
            JsonNode b64 = vector.get("payload_b64");
            return b64.isNull() ? null : Base64.getDecoder().decode(b64.asText());
        }
        return vector.get("payload").asText().getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void thereAreVectorsOfEveryVerdict() throws IOException {
        List<JsonNode> all = vectors();
        assertTrue(all.size() >= 100, "at least 100 vectors, found " + all.size());
        assertTrue(all.stream().anyMatch(v -> v.get("expect").get("code").isNull()));
    }

    @TestFactory
    Stream<DynamicTest> everyVectorGetsItsVerdict() throws IOException {
        return vectors().stream().map(v -> DynamicTest.dynamicTest(v.get("name").asText(), () -> {
            Long recordTs = v.hasNonNull("record_timestamp") ? v.get("record_timestamp").asLong() : null;
            String zone = v.hasNonNull("naive_zone") ? v.get("naive_zone").asText() : "UTC";
            EventContract.Result r = contract.check(payload(v), recordTs, zone, 3_600_000L, 300_000L);
            JsonNode expect = v.get("expect");
            assertEquals(text(expect.get("code")), r.code, "code");
            assertEquals(text(expect.get("field")), r.field, "field");
            if (r.accepted()) {
                Iterator<Map.Entry<String, JsonNode>> wanted = expect.path("values").fields();
                while (wanted.hasNext()) {
                    Map.Entry<String, JsonNode> e = wanted.next();
                    int at = contract.output().indexOf(e.getKey());
                    Object got = r.values[at];
                    JsonNode want = e.getValue();
                    if (want.isNull()) {
                        assertEquals(null, got, e.getKey());
                    } else if (want.isTextual()) {
                        assertEquals(want.asText(), got, e.getKey());
                    } else if (want.isIntegralNumber() && !(got instanceof Double)) {
                        assertEquals(want.asLong(), ((Number) got).longValue(), e.getKey());
                    } else {
                        assertEquals(want.asDouble(), ((Number) got).doubleValue(), e.getKey());
                    }
                }
            } else {
                assertNotNull(r.reason, "a rejection always says why");
            }
        }));
    }

    private static String text(JsonNode node) {
        return node == null || node.isNull() ? null : node.asText();
    }
}
