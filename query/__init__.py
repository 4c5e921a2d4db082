"""Typed reads of the Pinot tables: used by the tests now and the API next."""
