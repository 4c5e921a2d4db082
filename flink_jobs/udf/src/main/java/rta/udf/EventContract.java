package rta.udf;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.zone.ZoneOffsetTransition;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonToken;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.StreamReadConstraints;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The event contract's Java checker: the same rules, in the same order, with the same reason texts as
 * the Python checker ({@code core/contract.py}), read from the rule table that
 * {@code rta generate} writes from the Pydantic models ({@code event-contract.json}).
 * Shared vectors ({@code tests/vectors/event_contract.jsonl}) and a differential fuzz test keep the two
 * equal. No input makes it throw: anything unexpected becomes a rejection.
 */
public final class EventContract {
    public static final String RESOURCE = "/rta/udf/event-contract.json";

    // No shared field-name table: its collision checks would make a verdict depend on the payloads
    // parsed before it (Jackson throws when too many names share a hash slot). Names may be as long
    // as the payload may be.
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .streamReadConstraints(StreamReadConstraints.builder().maxNameLength(1 << 20).build())
            .build();
    private static final Pattern ISO = Pattern.compile(
            "(\\d{4})-(\\d{2})-(\\d{2})T(\\d{2}):(\\d{2}):(\\d{2})(?:\\.(\\d{1,9}))?(Z|[+-]\\d{2}:\\d{2})?");
    private static final long MILLIS_PER_DAY = 86_400_000L;
    private static volatile EventContract instance;
    private static final Map<String, ZoneId> ZONES = new ConcurrentHashMap<>();

    /** One field's rule (a row of the table). */
    static final class Rule {
        final String name;
        final String kind;
        final Set<String> presentIn;
        final Set<String> requiredFor;
        final Integer minLength;
        final Integer maxLength;
        final Double ge;
        final Double le;
        final Set<String> choices;
        final Map<String, String> messages;
        final int position;

        Rule(JsonNode node, int position) {
            this.name = node.get("name").asText();
            this.kind = node.get("kind").asText();
            this.presentIn = strings(node.get("present_in"));
            this.requiredFor = strings(node.get("required_for"));
            this.minLength = node.get("min_length").isNull() ? null : node.get("min_length").asInt();
            this.maxLength = node.get("max_length").isNull() ? null : node.get("max_length").asInt();
            this.ge = node.get("ge").isNull() ? null : node.get("ge").asDouble();
            this.le = node.get("le").isNull() ? null : node.get("le").asDouble();
            this.choices = strings(node.get("choices"));
            this.messages = stringMap(node.get("messages"));
            this.position = position;
        }
    }

    /** A verdict: accepted (code null) with the output values, or the reason of a rejection. */
    public static final class Result {
        public final String code;
        public final String field;
        public final String reason;
        /** Accepted only: one value per output column (String, Integer, Long or Double; null if absent). */
        public final Object[] values;
        /** Accepted only: event time, epoch milliseconds. */
        public final Long eventTimeMillis;

        Result(String code, String field, String reason, Object[] values, Long eventTimeMillis) {
            this.code = code;
            this.field = field;
            this.reason = reason;
            this.values = values;
            this.eventTimeMillis = eventTimeMillis;
        }

        public boolean accepted() {
            return code == null;
        }
    }

    private final List<String> output;
    private final List<Rule> rules = new ArrayList<>();
    private final Map<String, Integer> positions = new HashMap<>();
    private final Set<String> eventTypes;
    private final Map<String, String> eventTypeMessages;
    private final Map<String, String> payloadMessages;
    private final int maxPayloadBytes;
    private final int maxDepth;
    private final int maxNumberChars;
    private final long minEventMillis;
    private final long maxEventMillis;
    private final int maxOffsetMinutes;
    private final String totalEventType;
    private final String totalField;
    private final String priceField;
    private final String quantityField;
    private final double tolerance;
    private final String totalMessage;
    private final String timestampField;
    private final String latenessMessage;

    EventContract(JsonNode spec) {
        this.output = new ArrayList<>();
        spec.get("output").forEach(n -> output.add(n.asText()));
        for (int i = 0; i < output.size(); i++) {
            positions.put(output.get(i), i);
        }
        for (JsonNode field : spec.get("fields")) {
            rules.add(new Rule(field, positions.get(field.get("name").asText())));
        }
        JsonNode eventType = spec.get("event_type");
        this.eventTypes = strings(eventType.get("choices"));
        this.eventTypeMessages = stringMap(eventType.get("messages"));
        this.payloadMessages = stringMap(spec.get("payload_messages"));
        JsonNode limits = spec.get("limits");
        this.maxPayloadBytes = limits.get("max_payload_bytes").asInt();
        this.maxDepth = limits.get("max_depth").asInt();
        this.maxNumberChars = limits.get("max_number_chars").asInt();
        this.minEventMillis = limits.get("min_event_millis").asLong();
        this.maxEventMillis = limits.get("max_event_millis").asLong();
        this.maxOffsetMinutes = limits.get("max_offset_minutes").asInt();
        JsonNode total = spec.get("total");
        this.totalEventType = total.get("event_type").asText();
        this.totalField = total.get("field").asText();
        this.priceField = total.get("price").asText();
        this.quantityField = total.get("quantity").asText();
        this.tolerance = total.get("tolerance").asDouble();
        this.totalMessage = total.get("message").asText();
        this.timestampField = spec.get("timestamp").get("field").asText();
        this.latenessMessage = spec.get("timestamp").get("lateness_message").asText();
    }

    /** The contract of the rule table shipped in this jar. */
    public static EventContract get() {
        EventContract contract = instance;
        if (contract == null) {
            synchronized (EventContract.class) {
                if (instance == null) {
                    try (InputStream in = EventContract.class.getResourceAsStream(RESOURCE)) {
                        if (in == null) {
                            throw new IllegalStateException(RESOURCE + " is not on the classpath");
                        }
                        instance = new EventContract(new ObjectMapper().readTree(in));
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
                contract = instance;
            }
        }
        return contract;
    }

    /** The output columns, in order: the event models' union of fields. */
    public List<String> output() {
        return output;
    }

    /** The kind of an output column ("string", "int", "double", "epoch_millis"...); event_type is a string. */
    public String kind(String column) {
        for (Rule rule : rules) {
            if (rule.name.equals(column)) {
                return rule.kind;
            }
        }
        return "string";
    }

    /** One JSON value of the payload as the checker sees it: its token and literal text. */
    private static final class Value {
        final JsonToken token;
        final String text;

        Value(JsonToken token, String text) {
            this.token = token;
            this.text = text;
        }
    }

    private Result reject(String code) {
        return new Result(code, null, payloadMessages.get(code), null, null);
    }

    private static Result reject(String code, String field, Map<String, String> messages) {
        return new Result(code, field, messages.get(code), null, null);
    }

    /**
     * Checks one record value. {@code recordTimestamp} (epoch millis) null skips the lateness rule.
     * Never throws for any input.
     */
    public Result check(byte[] payload, Long recordTimestamp, String naiveZone, long maxLatenessMs,
            long maxFutureMs) {
        try {
            return checkUnsafe(payload, recordTimestamp, naiveZone, maxLatenessMs, maxFutureMs);
        } catch (RuntimeException | StackOverflowError e) {
            // A bug here must not stop the job: the record is dead-lettered with the cause instead.
            return new Result("internal_error", null, "checker failed: " + e, null, null);
        }
    }

    private Result checkUnsafe(byte[] payload, Long recordTimestamp, String naiveZone, long maxLatenessMs,
            long maxFutureMs) {
        if (payload == null || payload.length == 0) {
            return reject("empty");
        }
        if (payload.length > maxPayloadBytes) {
            return reject("too_large");
        }
        String text = decodeUtf8(payload);
        if (text == null) {
            return reject("not_utf8");
        }
        Map<String, Value> top = new HashMap<>();
        String problem = parse(text, top);
        if (problem != null) {
            return reject(problem);
        }
        Value type = top.get("event_type");
        if (type == null) {
            return reject("missing", "event_type", eventTypeMessages);
        }
        if (type.token != JsonToken.VALUE_STRING) {
            return reject("wrong_type", "event_type", eventTypeMessages);
        }
        if (!eventTypes.contains(type.text)) {
            return reject("not_allowed", "event_type", eventTypeMessages);
        }
        String eventType = type.text;
        Object[] values = new Object[output.size()];
        values[positions.get("event_type")] = eventType;
        for (Rule rule : rules) {
            if (!rule.presentIn.contains(eventType)) {
                continue;
            }
            Object[] checked = {null};
            Result rejected = checkField(rule, eventType, top, naiveZone, checked);
            if (rejected != null) {
                return rejected;
            }
            values[rule.position] = checked[0];
        }
        if (eventType.equals(totalEventType)) {
            double total = (Double) values[positions.get(totalField)];
            double price = (Double) values[positions.get(priceField)];
            int quantity = ((Number) values[positions.get(quantityField)]).intValue();
            // IEEE-754 double arithmetic, as in Python: no rounding mode to disagree on.
            if (!(Math.abs(total - price * quantity) <= tolerance)) {
                return new Result("total_mismatch", totalField, totalMessage, null, null);
            }
        }
        long eventTime = (Long) values[positions.get(timestampField)];
        if (recordTimestamp != null) {
            long earliest = saturatedAdd(recordTimestamp, -maxLatenessMs);
            long latest = saturatedAdd(recordTimestamp, maxFutureMs);
            if (eventTime < earliest || eventTime > latest) {
                return new Result("outside_lateness", timestampField, latenessMessage, null, null);
            }
        }
        return new Result(null, null, null, values, eventTime);
    }

    private static long saturatedAdd(long a, long b) {
        long sum = a + b;
        if (((a ^ sum) & (b ^ sum)) < 0) {
            return b > 0 ? Long.MAX_VALUE : Long.MIN_VALUE;
        }
        return sum;
    }

    /** Strict UTF-8 (no overlongs, no encoded surrogates); null when the bytes are not UTF-8. */
    static String decodeUtf8(byte[] payload) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(payload))
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /**
     * Reads the whole payload, keeping the top-level fields of an object (a repeated key keeps its last
     * value). Returns null for an object, else "not_json" or "not_object".
     */
    private String parse(String text, Map<String, Value> top) {
        if (text.startsWith("\uFEFF")) {
            return "not_json";
        }
        boolean object;
        try (JsonParser parser = FACTORY.createParser(text)) {
            JsonToken token = parser.nextToken();
            if (token == null) {
                return "not_json";
            }
            object = token == JsonToken.START_OBJECT;
            int depth = 0;
            String pendingName = null;
            while (true) {
                switch (token) {
                    case START_OBJECT:
                    case START_ARRAY:
                        if (depth == 1 && pendingName != null) {
                            top.put(pendingName, new Value(token, null));
                            pendingName = null;
                        }
                        depth++;
                        if (depth > maxDepth) {
                            return "not_json";
                        }
                        break;
                    case END_OBJECT:
                    case END_ARRAY:
                        depth--;
                        break;
                    case FIELD_NAME:
                        if (depth == 1) {
                            pendingName = parser.currentName();
                        }
                        break;
                    default:
                        if ((token == JsonToken.VALUE_NUMBER_INT || token == JsonToken.VALUE_NUMBER_FLOAT)
                                && parser.getTextLength() > maxNumberChars) {
                            return "not_json";
                        }
                        if (depth == 1 && pendingName != null) {
                            top.put(pendingName, new Value(token, parser.getText()));
                            pendingName = null;
                        }
                }
                if (depth == 0) {
                    break;
                }
                token = parser.nextToken();
                if (token == null) {
                    return "not_json";
                }
            }
            if (parser.nextToken() != null) {
                return "not_json";
            }
        } catch (IOException | RuntimeException e) {
            return "not_json";
        }
        return object ? null : "not_object";
    }

    private Result checkField(Rule rule, String eventType, Map<String, Value> top, String naiveZone,
            Object[] out) {
        Value value = top.get(rule.name);
        if (value == null) {
            return rule.requiredFor.contains(eventType) ? reject("missing", rule.name, rule.messages) : null;
        }
        if (value.token == JsonToken.VALUE_NULL) {
            return rule.requiredFor.contains(eventType) ? reject("wrong_type", rule.name, rule.messages) : null;
        }
        switch (rule.kind) {
            case "string":
                return checkString(rule, value, out);
            case "epoch_millis":
                return checkTimestamp(rule, value, naiveZone, out);
            case "int":
            case "long":
                return checkInteger(rule, value, out);
            case "double":
                return checkDouble(rule, value, out);
            default:
                throw new IllegalStateException("no rule for kind " + rule.kind);
        }
    }

    private static Result checkString(Rule rule, Value value, Object[] out) {
        if (value.token != JsonToken.VALUE_STRING) {
            return reject("wrong_type", rule.name, rule.messages);
        }
        String s = value.text;
        if (textProblem(s) != null) {
            return reject("invalid_text", rule.name, rule.messages);
        }
        int length = s.codePointCount(0, s.length());
        if (rule.minLength != null && length < rule.minLength) {
            return reject("too_short", rule.name, rule.messages);
        }
        if (rule.maxLength != null && length > rule.maxLength) {
            return reject("too_long", rule.name, rule.messages);
        }
        if (!rule.choices.isEmpty() && !rule.choices.contains(s)) {
            return reject("not_allowed", rule.name, rule.messages);
        }
        out[0] = s;
        return null;
    }

    /** Why a string is not valid text (a control character or an unpaired surrogate), or null. */
    static String textProblem(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) {
                return "control character";
            }
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return "unpaired surrogate";
            }
        }
        return null;
    }

    private Result checkTimestamp(Rule rule, Value value, String naiveZone, Object[] out) {
        long millis;
        if (value.token == JsonToken.VALUE_STRING) {
            Long parsed = isoToEpochMillis(value.text, naiveZone);
            if (parsed == null) {
                return reject("bad_format", rule.name, rule.messages);
            }
            millis = parsed;
        } else if (value.token == JsonToken.VALUE_NUMBER_INT) {
            BigInteger n = new BigInteger(value.text);
            if (n.compareTo(BigInteger.valueOf(minEventMillis)) < 0
                    || n.compareTo(BigInteger.valueOf(maxEventMillis)) >= 0) {
                return reject("out_of_range", rule.name, rule.messages);
            }
            millis = n.longValueExact();
        } else {
            return reject("wrong_type", rule.name, rule.messages);
        }
        if (millis < minEventMillis || millis >= maxEventMillis) {
            return reject("out_of_range", rule.name, rule.messages);
        }
        out[0] = millis;
        return null;
    }

    private static Result checkInteger(Rule rule, Value value, Object[] out) {
        if (value.token != JsonToken.VALUE_NUMBER_INT) {
            return reject("wrong_type", rule.name, rule.messages);
        }
        BigInteger n = new BigInteger(value.text);
        if ((rule.ge != null && n.compareTo(BigInteger.valueOf(rule.ge.longValue())) < 0)
                || (rule.le != null && n.compareTo(BigInteger.valueOf(rule.le.longValue())) > 0)) {
            return reject("out_of_range", rule.name, rule.messages);
        }
        if (rule.kind.equals("int")) {
            if (n.bitLength() >= 32) {
                return reject("out_of_range", rule.name, rule.messages);
            }
            out[0] = n.intValue();
        } else {
            if (n.bitLength() >= 64) {
                return reject("out_of_range", rule.name, rule.messages);
            }
            out[0] = n.longValue();
        }
        return null;
    }

    private static Result checkDouble(Rule rule, Value value, Object[] out) {
        if (value.token != JsonToken.VALUE_NUMBER_INT && value.token != JsonToken.VALUE_NUMBER_FLOAT) {
            return reject("wrong_type", rule.name, rule.messages);
        }
        double d = Double.parseDouble(value.text); // correctly rounded, as Python's float()
        if (!Double.isFinite(d)
                || (rule.ge != null && d < rule.ge)
                || (rule.le != null && d > rule.le)) {
            return reject("out_of_range", rule.name, rule.messages);
        }
        out[0] = d;
        return null;
    }

    /** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
    static long daysFromCivil(long year, int month, int day) {
        year -= month <= 2 ? 1 : 0;
        long era = Math.floorDiv(year, 400);
        long yoe = year - era * 400;
        long doy = (153L * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
        long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146_097 + doe - 719_468;
    }

    private static int daysInMonth(int year, int month) {
        if (month == 2) {
            return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28;
        }
        return month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31;
    }

    /** Epoch millis of an accepted ISO-8601 date-time (wire rules), or null when it is not one. */
    Long isoToEpochMillis(String text, String naiveZone) {
        Matcher m = ISO.matcher(text);
        if (!m.matches()) {
            return null;
        }
        int year = Integer.parseInt(m.group(1));
        int month = Integer.parseInt(m.group(2));
        int day = Integer.parseInt(m.group(3));
        int hour = Integer.parseInt(m.group(4));
        int minute = Integer.parseInt(m.group(5));
        int second = Integer.parseInt(m.group(6));
        String fraction = m.group(7);
        String offset = m.group(8);
        if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
            return null;
        }
        if (hour > 23 || minute > 59 || second > 59) {
            return null;
        }
        int millis = 0;
        if (fraction != null) {
            String three = (fraction + "00").substring(0, 3); // truncated, never rounded up
            millis = Integer.parseInt(three);
        }
        long local = daysFromCivil(year, month, day) * MILLIS_PER_DAY
                + ((hour * 60L + minute) * 60 + second) * 1000 + millis;
        if ("Z".equals(offset)) {
            return local;
        }
        if (offset != null) {
            int hours = Integer.parseInt(offset.substring(1, 3));
            int minutes = Integer.parseInt(offset.substring(4, 6));
            int total = hours * 60 + minutes;
            if (minutes > 59 || total > maxOffsetMinutes) {
                return null;
            }
            return local - (offset.charAt(0) == '+' ? 1 : -1) * total * 60_000L;
        }
        if ("UTC".equals(naiveZone) || year < 1) {
            return local;
        }
        ZoneId zone = ZONES.computeIfAbsent(naiveZone, ZoneId::of);
        LocalDateTime wall = LocalDateTime.of(year, month, day, hour, minute, second);
        List<ZoneOffset> valid = zone.getRules().getValidOffsets(wall);
        ZoneOffset zoneOffset;
        if (valid.size() == 1) {
            zoneOffset = valid.get(0);
        } else {
            // A gap or an overlap: the offset before the change, as Python's zoneinfo with fold=0.
            ZoneOffsetTransition transition = zone.getRules().getTransition(wall);
            zoneOffset = transition.getOffsetBefore();
        }
        return local - zoneOffset.getTotalSeconds() * 1000L;
    }

    /** The payload as the dead letter carries it: text when it is UTF-8 without NUL, else base64. */
    public static String[] deadLetterPayload(byte[] payload, int maxBytes) {
        if (payload == null) {
            return new String[] {null, null};
        }
        String text = payload.length <= maxBytes ? decodeUtf8(payload) : null;
        if (text != null && text.indexOf('\0') < 0) {
            return new String[] {text, "utf-8"};
        }
        byte[] kept = payload.length <= maxBytes ? payload : Arrays.copyOf(payload, maxBytes);
        return new String[] {Base64.getEncoder().encodeToString(kept), "base64"};
    }

    public int maxPayloadBytes() {
        return maxPayloadBytes;
    }

    /** Fails (IllegalArgumentException) for a zone id java.time does not know; called at job start. */
    public static void checkZone(String zone) {
        try {
            ZoneId.of(zone);
        } catch (DateTimeException e) {
            throw new IllegalArgumentException("unknown time zone " + zone, e);
        }
    }

    private static Set<String> strings(JsonNode array) {
        Set<String> out = new HashSet<>();
        if (array != null) {
            array.forEach(n -> out.add(n.asText()));
        }
        return out;
    }

    private static Map<String, String> stringMap(JsonNode object) {
        Map<String, String> out = new HashMap<>();
        object.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
        return out;
    }
}
