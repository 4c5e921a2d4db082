"""Alerts over the served metrics: rules evaluated every `alert_interval_s`, listed at `GET /alerts`, each
change POSTed to `alert_webhook_url` at least once.

- rules.py: the rules (one place): what each reads, its threshold setting, when it fires;
- evaluator.py: the loop, the alerts' state machine (firing -> resolved), GET /alerts' snapshot;
- store.py: the state kept across API restarts (firing, resolved history, webhook outbox), one JSON file;
- webhook.py: delivery with retries and exponential backoff.

Rules, settings and the webhook's payload: docs/operations.md, "Alerts".
"""

from api.alerting.evaluator import AlertEvaluator
from api.alerting.rules import RULES, Rule

__all__ = ["RULES", "AlertEvaluator", "Rule"]
