package rta.udf;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonToken;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * {@code JSON_EPOCH_MILLIS(payload, 'field')}: a top-level integral field of a JSON object as epoch
 * milliseconds, for the source's event time (computed before the rest of the payload is parsed).
 * NULL when the payload is not exactly one JSON object, or the field is absent, not an integer or has
 * more than 15 digits (beyond year 33658, and far outside any accepted bound). Reads the payload as
 * {@link JsonFields} does: a repeated key keeps its last value.
 */
public class JsonEpochMillis extends ScalarFunction {
    private static final int MAX_DIGITS = 15;

    public Long eval(String payload, String field) {
        if (payload == null || field == null) {
            return null;
        }
        Long[] millis = {null};
        boolean object = TopLevelFields.read(payload, (name, parser, value) -> {
            if (!field.equals(name)) {
                parser.skipChildren();
            } else if (value == JsonToken.VALUE_NUMBER_INT && digits(parser.getText()) <= MAX_DIGITS) {
                millis[0] = parser.getLongValue();
            } else {
                parser.skipChildren();
                millis[0] = null;
            }
        });
        return object ? millis[0] : null;
    }

    private static int digits(String text) {
        return text.startsWith("-") ? text.length() - 1 : text.length();
    }
}
