"""Local stack: fetches the pinned engines and runs Kafka, Flink and Pinot as processes on 127.0.0.1."""
