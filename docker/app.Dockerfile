# The product's Python side (provisioning, job submission, API, generator): this repository installed
# with its dependencies, a JDK 17 for the PyFlink client, and the jars every job ships: the Kafka
# connector (Maven Central) and the pipeline's own functions (flink_jobs/udf, built here); the dashboard's
# libraries from npm (api/dashboard/package-lock.json), as `make setup` installs them.
ARG FLINK_VERSION
FROM maven:3.9-eclipse-temurin-17 AS udf
ARG FLINK_VERSION
COPY flink_jobs/udf /udf
COPY tests/vectors /tests/vectors
RUN mvn -q -B -f /udf/pom.xml package -Dflink.version=${FLINK_VERSION} -Drta.lib.dir=/out -Drta.work.dir=/tmp/work

FROM node:20-slim AS dashboard
COPY api/dashboard/package.json api/dashboard/package-lock.json /dashboard/
RUN cd /dashboard && npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim
ARG FLINK_VERSION
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
COPY --from=udf /out/ /root/.cache/rta/lib/udf-flink-${FLINK_VERSION}/
COPY --from=dashboard /dashboard/node_modules /app/api/dashboard/node_modules
