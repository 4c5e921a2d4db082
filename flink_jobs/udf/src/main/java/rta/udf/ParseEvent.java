package rta.udf;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.catalog.DataTypeFactory;
import org.apache.flink.table.functions.TableFunction;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.inference.TypeInference;
import org.apache.flink.types.Row;

/**
 * {@code LATERAL TABLE(PARSE_EVENT(payload, record_ts_ms, partition, offset, naive_zone, max_lateness_ms,
 * max_future_ms, quarantine))}: one row per record with every event column (typed, NULL where absent),
 * the reason of a rejection ({@code reason}, {@code reason_code}, {@code reason_field}; NULL when the
 * event is accepted) and the payload as a dead letter carries it. The rules are {@link EventContract}'s.
 *
 * <p>{@code quarantine} is a JSON array of {@code {"partition", "offset", "reason"}} objects: records an
 * operator set aside because they made the job fail ({@code rta skip}); they are rejected with code
 * {@code quarantined} before anything else looks at them.
 */
public class ParseEvent extends TableFunction<Row> {
    public static final String[] EXTRA = {
        "reason", "reason_code", "reason_field", "payload_text", "payload_encoding", "payload_bytes"
    };

    private transient String quarantineText;
    private transient String checkedZone;
    private transient Map<Long, String> quarantined;

    public void eval(byte[] payload, Long recordTimestamp, Integer partition, Long offset, String naiveZone,
            Long maxLatenessMs, Long maxFutureMs, String quarantine) {
        if (naiveZone != null && !naiveZone.equals(checkedZone)) {
            EventContract.checkZone(naiveZone); // a zone the JDK lacks fails the job at its first record
            checkedZone = naiveZone;
        }
        EventContract contract = EventContract.get();
        int size = contract.output().size();
        Object[] row = new Object[size + EXTRA.length];
        String skipped = quarantineReason(quarantine, partition, offset);
        EventContract.Result result = skipped != null
                ? null
                : EventTime.check(payload, recordTimestamp, naiveZone, maxLatenessMs, maxFutureMs);
        if (result != null && result.accepted()) {
            System.arraycopy(result.values, 0, row, 0, size);
        } else {
            row[size] = skipped != null ? "quarantined by an operator: " + skipped : result.reason;
            row[size + 1] = skipped != null ? "quarantined" : result.code;
            row[size + 2] = skipped != null ? null : result.field;
            String[] text = EventContract.deadLetterPayload(payload, contract.maxPayloadBytes());
            row[size + 3] = text[0];
            row[size + 4] = text[1];
            row[size + 5] = payload == null ? null : payload.length;
        }
        try {
            collect(Row.of(row));
        } catch (RuntimeException e) {
            // Operators chained after this one run inside collect(): a failure there is about this
            // record, so name it, for `rta status` and `rta skip` (docs/pipeline.md, "A record that
            // stops the job").
            throw new RecordFailedException(partition, offset, e);
        }
    }

    private String quarantineReason(String quarantine, Integer partition, Long offset) {
        if (quarantine == null || quarantine.isEmpty() || partition == null || offset == null) {
            return null;
        }
        if (!quarantine.equals(quarantineText)) {
            quarantined = parseQuarantine(quarantine);
            quarantineText = quarantine;
        }
        return quarantined.get(((long) partition << 48) ^ offset);
    }

    static Map<Long, String> parseQuarantine(String quarantine) {
        Map<Long, String> out = new HashMap<>();
        try {
            for (JsonNode entry : new ObjectMapper().readTree(quarantine)) {
                long key = (entry.get("partition").asLong() << 48) ^ entry.get("offset").asLong();
                out.put(key, entry.get("reason").asText());
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("quarantine is not a JSON array: " + quarantine, e);
        }
        return out;
    }

    /** The output row type, from the rule table: the same columns as the Python checker's values. */
    static DataType outputType() {
        EventContract contract = EventContract.get();
        List<DataTypes.Field> fields = new ArrayList<>();
        for (String column : contract.output()) {
            fields.add(DataTypes.FIELD(column, sqlType(contract.kind(column))));
        }
        for (String extra : EXTRA) {
            fields.add(DataTypes.FIELD(extra, extra.equals("payload_bytes") ? DataTypes.INT() : DataTypes.STRING()));
        }
        return DataTypes.ROW(fields);
    }

    private static DataType sqlType(String kind) {
        switch (kind) {
            case "double":
                return DataTypes.DOUBLE();
            case "int":
                return DataTypes.INT();
            case "long":
            case "epoch_millis":
                return DataTypes.BIGINT();
            default:
                return DataTypes.STRING();
        }
    }

    @Override
    public TypeInference getTypeInference(DataTypeFactory typeFactory) {
        return TypeInference.newBuilder()
                .typedArguments(DataTypes.BYTES(), DataTypes.BIGINT(), DataTypes.INT(), DataTypes.BIGINT(),
                        DataTypes.STRING(), DataTypes.BIGINT(), DataTypes.BIGINT(), DataTypes.STRING())
                .outputTypeStrategy(callContext -> Optional.of(outputType()))
                .build();
    }
}
