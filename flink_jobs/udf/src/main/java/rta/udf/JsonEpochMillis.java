package rta.udf;

import java.io.IOException;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonToken;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * {@code JSON_EPOCH_MILLIS(payload, 'field')}: a top-level integral field of a JSON object as epoch
 * milliseconds, for the source's event time (computed before the rest of the payload is parsed).
 * NULL when the payload is not exactly one JSON object, or the field is absent, not an integer or has
 * more than 15 digits (beyond year 33658, and far outside any accepted bound). Same reading as
 * {@link JsonFields}: one streaming pass, a repeated key keeps its last value.
 */
public class JsonEpochMillis extends ScalarFunction {
    private static final JsonFactory FACTORY = new JsonFactory();
    private static final int MAX_DIGITS = 15;

    public Long eval(String payload, String field) {
        if (payload == null || field == null) {
            return null;
        }
        Long millis = null;
        try (JsonParser parser = FACTORY.createParser(payload)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                boolean wanted = field.equals(parser.currentName());
                JsonToken token = parser.nextToken();
                if (!wanted) {
                    parser.skipChildren();
                } else if (token == JsonToken.VALUE_NUMBER_INT && digits(parser.getText()) <= MAX_DIGITS) {
                    millis = parser.getLongValue();
                } else {
                    parser.skipChildren();
                    millis = null;
                }
            }
            if (parser.currentToken() != JsonToken.END_OBJECT || parser.nextToken() != null) {
                return null;
            }
        } catch (IOException e) {
            return null;
        }
        return millis;
    }

    private static int digits(String text) {
        return text.startsWith("-") ? text.length() - 1 : text.length();
    }
}
