# Flink session cluster image: the official Flink runtime, PyFlink (same version) and the Kafka SQL
# connector from Maven Central. Versions come from [tool.rta.versions] (docker-compose.yml passes them;
# tests/unit/test_compose.py checks they agree).
ARG FLINK_VERSION
FROM flink:${FLINK_VERSION}-scala_2.12-java17
ARG FLINK_VERSION
ARG FLINK_KAFKA_CONNECTOR
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv curl \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/pyflink \
 && /opt/pyflink/bin/pip install --no-cache-dir "apache-flink==${FLINK_VERSION}"
ENV PATH=/opt/pyflink/bin:$PATH
RUN curl -fsSL -o "/opt/flink/lib/flink-sql-connector-kafka-${FLINK_KAFKA_CONNECTOR}.jar" \
    "https://repo1.maven.org/maven2/org/apache/flink/flink-sql-connector-kafka/${FLINK_KAFKA_CONNECTOR}/flink-sql-connector-kafka-${FLINK_KAFKA_CONNECTOR}.jar"
