"""Where a page view came from: the host of its `referrer_url`, by one rule that Python and the Flink job
both apply (the job through `HOST_PATTERN` in REGEXP_EXTRACT; shared test vectors in
tests/vectors/referrer_host.jsonl prove they agree).

    absent or empty referrer                       -> "direct"  (typed in, bookmarks, apps)
    a URL with a host (`https://www.google.com/x`) -> its host as written: `www.google.com`
                                                      (no scheme needed: `t.co/x` -> `t.co`)
    no host (`/deals`, a path on this site)        -> "internal"

The host is what follows an optional `scheme://` (or `//`) and an optional `userinfo@`, up to the first
`/`, `?`, `#`, `:` or `@`; it is not lower-cased or decoded (hosts are case-insensitive, but a rule
both runtimes apply identically to any text matters more than folding the rare upper-case host).
"""

from __future__ import annotations

import re
from typing import Final

DIRECT: Final = "direct"
INTERNAL: Final = "internal"
HOST_PATTERN: Final = r"^(?:(?:[A-Za-z][A-Za-z0-9+.-]*:)?//)?(?:[^/?#@]*@)?([^/?#:@]*)"
"""Group 1 is the host; the pattern matches every string (each part may be empty). No backslash, so the
same text is a Python pattern, a Java pattern and a SQL string literal."""

_HOST = re.compile(HOST_PATTERN)


def referrer_host(referrer_url: str | None) -> str:
    """The referrer's host, "direct" or "internal" (the rules above)."""
    if not referrer_url:
        return DIRECT
    match = _HOST.match(referrer_url)
    host = match.group(1) if match else ""
    return host or INTERNAL
