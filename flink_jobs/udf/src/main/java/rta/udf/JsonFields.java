package rta.udf;

import java.io.IOException;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.DeserializationFeature;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * Parses a payload once and returns each top-level field of a JSON object as the text
 * {@code JSON_QUERY(payload, '$.field' WITH ARRAY WRAPPER)} would give ("[value]"), so the generated
 * validation SQL keeps its rules while the payload is parsed once instead of once per field.
 * Returns NULL when the payload is not exactly one JSON object.
 */
public class JsonFields extends ScalarFunction {
    private static final ObjectMapper MAPPER =
            new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    public @DataTypeHint("MAP<STRING, STRING>") Map<String, String> eval(String payload) {
        if (payload == null) {
            return null;
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(payload);
        } catch (IOException e) {
            return null;
        }
        if (root == null || !root.isObject()) {
            return null;
        }
        Map<String, String> fields = new HashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = root.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> field = it.next();
            fields.put(field.getKey(), "[" + field.getValue().toString() + "]");
        }
        return fields;
    }
}
