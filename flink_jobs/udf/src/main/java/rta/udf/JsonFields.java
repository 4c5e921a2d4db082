package rta.udf;

import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonToken;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * {@code JSON_FIELDS(payload, 'a', 'b', ...)}: one streaming pass over a payload that returns, for
 * each requested top-level field, its value as a tagged text, so SQL can validate types and values
 * with prefix checks and casts instead of parsing JSON again per field:
 *
 * <ul>
 *   <li>{@code s<text>}: a string (unescaped);
 *   <li>{@code i<digits>}: an integral number, as written;
 *   <li>{@code n<number>}: any other finite number, as written;
 *   <li>{@code z}: null;
 *   <li>{@code o}: anything else (boolean, object, array, a number too large for a double);
 *   <li>NULL element: the field is absent.
 * </ul>
 *
 * The result is NULL when the payload is not exactly one JSON object ({@link TopLevelFields}). A
 * repeated key keeps its last value, as a parsed tree would.
 */
public class JsonFields extends ScalarFunction {
    // The names are literals in the SQL, so each call passes the same names (perhaps in a new array):
    // index them once per function instance.
    private transient String[] indexedNames;
    private transient Map<String, Integer> positions;

    public @DataTypeHint("ARRAY<STRING>") String[] eval(String payload, String... names) {
        if (payload == null) {
            return null;
        }
        Map<String, Integer> index = positionsOf(names);
        String[] values = new String[names.length];
        boolean object = TopLevelFields.read(payload, (name, parser, value) -> {
            Integer position = index.get(name);
            if (position == null) {
                parser.skipChildren();
            } else {
                values[position] = tagged(parser, value);
            }
        });
        return object ? values : null;
    }

    static String tagged(JsonParser parser, JsonToken token) throws IOException {
        switch (token) {
            case VALUE_STRING:
                return "s" + parser.getText();
            case VALUE_NUMBER_INT:
                return "i" + parser.getText();
            case VALUE_NUMBER_FLOAT:
                return Double.isFinite(parser.getDoubleValue()) ? "n" + parser.getText() : "o";
            case VALUE_NULL:
                return "z";
            default:
                parser.skipChildren();
                return "o";
        }
    }

    private Map<String, Integer> positionsOf(String[] names) {
        if (!Arrays.equals(names, indexedNames)) {
            Map<String, Integer> map = new HashMap<>();
            for (int i = 0; i < names.length; i++) {
                map.put(names[i], i);
            }
            positions = map;
            indexedNames = names;
        }
        return positions;
    }
}
