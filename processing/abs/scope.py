"""What a createAB call covers: a date, a month, or a run ID (DEEP pseudo-date)."""

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q

from processing.choices import ScopeKind
from processing.conventions import InvalidRunId, parse_run_id


class ScopeError(ValueError):
    """A scope that cannot be: the message says which argument and why."""


@dataclass(frozen=True)
class Scope:
    kind: str  # ScopeKind
    value: str  # "2009-06-15", "2009-06" or "094.B-0298(A)"
    first: date | None = None  # first and last night (date and month scopes)
    last: date | None = None

    @classmethod
    def for_date(cls, text):
        try:
            night = date.fromisoformat(str(text))
        except ValueError:
            raise ScopeError(f"-d: {text!r} is not a date of the form YYYY-MM-DD") from None
        return cls(ScopeKind.DATE, night.isoformat(), night, night)

    @classmethod
    def for_month(cls, text):
        match = re.fullmatch(r"(\d{4})-(\d{2})", str(text))
        if not match or not 1 <= int(match[2]) <= 12:
            raise ScopeError(f"-m: {text!r} is not a month of the form YYYY-MM")
        year, month = int(match[1]), int(match[2])
        last_day = calendar.monthrange(year, month)[1]
        return cls(ScopeKind.MONTH, f"{year:04d}-{month:02d}", date(year, month, 1),
                   date(year, month, last_day))

    @classmethod
    def for_run(cls, text):
        try:
            parsed = parse_run_id(text)
        except InvalidRunId as exc:
            raise ScopeError(f"-r: {exc}") from None
        if parsed.run is None:
            raise ScopeError(f"-r: {text!r} is a programme ID; give the run, e.g. {text}(A)")
        return cls(ScopeKind.RUN, parsed.run_id)

    @classmethod
    def from_arguments(cls, date=None, month=None, run=None):
        """The scope of a command's -d / -m / -r (exactly one is given)."""
        if date:
            return cls.for_date(date)
        if month:
            return cls.for_month(month)
        return cls.for_run(run)

    def as_q(self):
        """The rows of the scope, for models with `night` and `run_id` (frames, ABs)."""
        if self.is_run:
            return Q(run_id=self.value)
        return Q(night__range=(self.first, self.last))

    @property
    def is_run(self):
        return self.kind == ScopeKind.RUN

    def nights(self):
        if self.first is None:
            return []
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def contains(self, night):
        return self.first is not None and self.first <= night <= self.last

    def month(self):
        """The month (YYYY-MM) a date scope lies in."""
        return self.value[:7] if self.kind == ScopeKind.DATE else None

    def __str__(self):
        return self.value
