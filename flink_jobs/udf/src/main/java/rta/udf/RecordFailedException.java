package rta.udf;

/**
 * A failure while the job handled one raw record, naming the record: {@code rta status} reads
 * "record at partition P offset O" from the job's exception history, and {@code rta skip} sets that
 * record aside. Only failures in the operators chained to the source can be attributed this way.
 */
public class RecordFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public RecordFailedException(Integer partition, Long offset, Throwable cause) {
        super("the job failed on the record at partition " + partition + " offset " + offset
                + " of the raw topic: " + cause, cause);
    }
}
