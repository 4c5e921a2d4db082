"""What the tests share, in one place; none of it is a test or a fixture.

Without engines (unit tests may import these):
- fake_pinot: a stand-in Pinot broker that records the SQL sent and answers from in-memory rows;
- oracle: what the pipeline must serve, computed in plain Python from the raw records;
- vectors, java_contract, fuzz_payloads: the event contract's shared vectors, the job's Java checker
  as a Python callable, hostile payloads;
- polling: wait on a condition by polling; readme: the README's examples as data.

On the real engines (integration tests):
- builders: fresh topics, producers, consumers, an API server on a free port;
- e2e: a pipeline on fresh topics and tables, traffic with faults, Pinot compared with the oracle;
- api_checks: the API's answers over those tables compared with the oracle.
"""
