"""E-commerce event generator (Kafka producer). Built in the pipeline issue."""
