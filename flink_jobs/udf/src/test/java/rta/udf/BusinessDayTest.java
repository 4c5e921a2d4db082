package rta.udf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** The shared vectors (tests/vectors/business_day.jsonl), which core/business_day.py also passes. */
class BusinessDayTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private final BusinessDay day = new BusinessDay();

    static List<JsonNode> vectors() throws IOException {
        Path contract = Path.of(System.getProperty("rta.vectors"));
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(contract.resolveSibling("business_day.jsonl"), StandardCharsets.UTF_8)) {
            if (!line.isBlank()) {
                out.add(MAPPER.readTree(line));
            }
        }
        return out;
    }

    @Test
    void thereAreVectors() throws IOException {
        assertTrue(vectors().size() >= 20);
    }

    @TestFactory
    Stream<DynamicTest> everyVectorGetsItsDate() throws IOException {
        return vectors().stream().map(v -> DynamicTest.dynamicTest(v.get("name").asText(), () ->
                assertEquals(v.get("date").asText(), day.eval(v.get("epoch_ms").asLong(), v.get("zone").asText()))));
    }

    @Test
    void aZoneChangeBetweenCallsIsHonoured() {
        assertEquals("2026-11-29", day.eval(1795977000000L - 1, "Asia/Kolkata"));
        assertEquals("2026-11-29", day.eval(1795977000000L, "UTC"));
        assertEquals("2026-11-30", day.eval(1795977000000L, "Asia/Kolkata"));
    }

    @Test
    void nullInNullOut() {
        assertNull(day.eval(null, "UTC"));
        assertNull(day.eval(0L, null));
    }
}
