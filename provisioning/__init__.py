"""Creating what the pipeline writes into: Kafka topics, Pinot schemas and tables (from core/datasets.py).

Used by `rta provision`, the generator (its raw topic) and the tests; it knows nothing of how the engines
are launched.
"""
