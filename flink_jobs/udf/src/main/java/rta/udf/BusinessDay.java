package rta.udf;

import java.time.Instant;
import java.time.ZoneId;

import org.apache.flink.table.functions.ScalarFunction;

/**
 * {@code BUSINESS_DAY(millis, zone)}: the ISO date (yyyy-MM-dd) in IANA zone {@code zone} of the
 * instant {@code millis} (epoch milliseconds); null when either is null. The job checks the zone when it
 * is submitted, so an unknown zone never reaches a record. The same rule as core/business_day.py; the
 * shared vectors (tests/vectors/business_day.jsonl) hold both to it.
 */
public class BusinessDay extends ScalarFunction {
    private transient String zoneName;
    private transient ZoneId zone;

    public String eval(Long millis, String zoneId) {
        if (millis == null || zoneId == null) {
            return null;
        }
        if (!zoneId.equals(zoneName)) { // one zone per job: parse it once
            zone = ZoneId.of(zoneId);
            zoneName = zoneId;
        }
        return Instant.ofEpochMilli(millis).atZone(zone).toLocalDate().toString();
    }
}
