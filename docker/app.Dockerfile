# The product's Python side (provisioning, job submission, API, generator): this repository installed
# with its dependencies, a JDK 17 for the PyFlink client, and the Kafka connector jar the job ships.
FROM python:3.11-slim
ARG FLINK_KAFKA_CONNECTOR
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jdk-headless curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -e . \
 && mkdir -p "/root/.cache/rta/lib/flink-connectors-${FLINK_KAFKA_CONNECTOR}" \
 && curl -fsSL -o "/root/.cache/rta/lib/flink-connectors-${FLINK_KAFKA_CONNECTOR}/flink-sql-connector-kafka-${FLINK_KAFKA_CONNECTOR}.jar" \
    "https://repo1.maven.org/maven2/org/apache/flink/flink-sql-connector-kafka/${FLINK_KAFKA_CONNECTOR}/flink-sql-connector-kafka-${FLINK_KAFKA_CONNECTOR}.jar"
