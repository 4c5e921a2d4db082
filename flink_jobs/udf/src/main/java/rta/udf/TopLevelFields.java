package rta.udf;

import java.io.IOException;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonToken;

/**
 * One streaming pass over a payload that must be exactly one JSON object, handing each top-level
 * field to a reader; the functions share it so they agree on what a payload says.
 */
final class TopLevelFields {
    private static final JsonFactory FACTORY = new JsonFactory();

    /** Reads one field's value; it must consume the value (read it, or skip its children). */
    interface FieldReader {
        void read(String name, JsonParser parser, JsonToken value) throws IOException;
    }

    private TopLevelFields() {}

    /**
     * Calls {@code reader} for each top-level field, in order (a repeated key is read each time).
     * Returns false when the payload is not exactly one JSON object: malformed, another JSON type, or
     * followed by anything but whitespace.
     */
    static boolean read(String payload, FieldReader reader) {
        try (JsonParser parser = FACTORY.createParser(payload)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return false;
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                JsonToken value = parser.nextToken();
                if (value == null) {
                    return false;
                }
                reader.read(name, parser, value);
            }
            return parser.currentToken() == JsonToken.END_OBJECT && parser.nextToken() == null;
        } catch (IOException e) {
            return false;
        }
    }
}
