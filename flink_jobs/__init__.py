"""Flink SQL jobs and the thin runner that submits them to the session cluster."""
