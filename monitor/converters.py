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


class MonthConverter:
    """YYYY-MM with a real month; kept as the text (a Scope takes it as is)."""

    regex = r"\d{4}-(?:0[1-9]|1[0-2])"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return str(value)


class PseudoDateConverter:
    """DFOS' DATE: a night (YYYY-MM-DD) or, in DEEP mode, a run ID such as 094.B-0298(A)."""

    regex = r"\d{4}-\d{2}-\d{2}|\d{2,4}\.[A-Z]-\d{4}\([A-Z]\)"

    def to_python(self, value):
        if "(" not in value:
            date.fromisoformat(value)  # ValueError → 404 for e.g. 2009-02-30
        return value

    def to_url(self, value):
        return value.isoformat() if isinstance(value, date) else str(value)
