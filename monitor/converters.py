"""URL converters: only well-formed nights and instrument names reach the views."""

from datetime import date


class NightConverter:
    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value):
        return date.fromisoformat(value)  # ValueError → 404 for e.g. 2009-02-30

    def to_url(self, value):
        return value.isoformat() if isinstance(value, date) else str(value)


class InstrumentConverter:
    regex = r"[A-Z][A-Z0-9_]{0,19}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value
