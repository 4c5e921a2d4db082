"""What pinotdb raises becomes one of two typed errors: unavailable (503, retry) or failed (502)."""

from __future__ import annotations

from typing import Any

import httpx
import pinotdb.exceptions
import pytest

from query.pinot import PinotQueryFailed, PinotUnavailable, classify


class Cursor:
    def __init__(self, payload: Any = None, status: int = 200) -> None:
        self.raw_query_response = (
            {"response": payload, "status_code": status} if payload is not None else None
        )


TRACE = "java.lang.IllegalArgumentException: Cannot find zone\n\tat org.joda.time.DateTimeZone.forID"


@pytest.mark.parametrize(
    ("cursor", "exc", "kind"),
    [
        (Cursor(), httpx.ConnectError("[Errno 111] Connection refused"), PinotUnavailable),
        (Cursor({"exceptions": [{"errorCode": 305, "message": "segments"}]}), None, PinotUnavailable),
        (
            Cursor({"exceptions": [{"errorCode": 190, "message": "TableDoesNotExist"}]}),
            None,
            PinotUnavailable,
        ),
        (Cursor({"exceptions": [{"errorCode": 250, "message": "timeout"}]}), None, PinotUnavailable),
        (
            Cursor(),
            pinotdb.exceptions.DatabaseError("Query\n\nSELECT 1 timed out: Out of 1"),
            PinotUnavailable,
        ),
        (Cursor({"error": "busy"}, status=503), None, PinotUnavailable),
        (Cursor({"exceptions": [{"errorCode": 200, "message": TRACE}]}), None, PinotQueryFailed),
        (Cursor({"exceptions": [{"errorCode": 150, "message": "SQLParsingError"}]}), None, PinotQueryFailed),
    ],
)
def test_classification(cursor: Cursor, exc: Exception | None, kind: type) -> None:
    exc = exc or pinotdb.exceptions.DatabaseError(str(cursor.raw_query_response))
    error = classify(cursor, exc)
    assert type(error) is kind
    assert "java" not in str(error)
    assert "Errno" not in str(error)
    assert str(exc) in error.detail  # the whole story: for the log


def test_codes_are_read_from_pinotdbs_message_too() -> None:
    exc = pinotdb.exceptions.DatabaseError("{'errorCode': 410, 'message': 'BrokerResourceMissingError'}")
    error = classify(object(), exc)
    assert isinstance(error, PinotUnavailable)
    assert error.codes == frozenset({410})
