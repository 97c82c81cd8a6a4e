"""Helpers of the page tests: bounded SQL query counts and what an htmx request sends."""

from contextlib import contextmanager

from django.db import connection
from django.test.utils import CaptureQueriesContext

#: the headers django-htmx reads to set request.htmx
HTMX = {"HTTP_HX_REQUEST": "true"}


@contextmanager
def at_most_queries(limit):
    """Fail when the block runs more than `limit` SQL queries, listing them."""
    with CaptureQueriesContext(connection) as captured:
        yield captured
    if len(captured) > limit:
        listing = "\n".join(f"{i}. {q['sql'][:300]}" for i, q in enumerate(captured.captured_queries, 1))
        raise AssertionError(f"{len(captured)} SQL queries, at most {limit} allowed:\n{listing}")
