package rta.udf;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The Java checker on stdin/stdout, for the differential tests against the Python checker: each input
 * line is {@code {"payload_b64": "..." | null, "record_timestamp": ms | null, "naive_zone": "UTC",
 * "max_lateness_ms": n, "max_future_ms": n}}; each output line is {@code {"code", "field", "reason",
 * "values"}} (values: the output columns of an accepted event, else null).
 */
public final class ContractCheck {
    private ContractCheck() {}

    public static void main(String[] args) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        EventContract contract = EventContract.get();
        List<String> output = contract.output();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode request = mapper.readTree(line);
            JsonNode b64 = request.path("payload_b64");
            byte[] payload = b64.isNull() || b64.isMissingNode() ? null : Base64.getDecoder().decode(b64.asText());
            JsonNode ts = request.path("record_timestamp");
            Long recordTimestamp = ts.isNull() || ts.isMissingNode() ? null : ts.asLong();
            EventContract.Result r = contract.check(payload, recordTimestamp,
                    request.path("naive_zone").asText("UTC"),
                    request.path("max_lateness_ms").asLong(3_600_000L),
                    request.path("max_future_ms").asLong(300_000L));
            Map<String, Object> answer = new LinkedHashMap<>();
            answer.put("code", r.code);
            answer.put("field", r.field);
            answer.put("reason", r.reason);
            Map<String, Object> values = null;
            if (r.accepted()) {
                values = new LinkedHashMap<>();
                for (int i = 0; i < output.size(); i++) {
                    values.put(output.get(i), r.values[i]);
                }
            }
            answer.put("values", values);
            String[] dead = EventContract.deadLetterPayload(payload, contract.maxPayloadBytes());
            answer.put("dead_letter_payload", dead[0]);
            answer.put("dead_letter_encoding", dead[1]);
            out.write(mapper.writeValueAsString(answer));
            out.write('\n');
            out.flush();
        }
    }
}
