"""What validation says about one file: findings (one per broken rule and place) and the report.

A report is what ingestion stores in `Product.validation` and what `validate_idp --json`
prints, so `as_dict()` is plain JSON.
"""

from dataclasses import asdict, dataclass, field

ERROR = "error"
WARNING = "warning"  # the standard's "recommended" keywords: reported, never blocking


@dataclass(frozen=True)
class Finding:
    """One broken rule at one place: `hdu` is the HDU index (None for the file as a whole)."""

    rule: str
    severity: str
    keyword: str
    hdu: int | None
    extname: str
    message: str

    def as_dict(self):
        return asdict(self)

    def where(self):
        """`HDU 1 (SPECTRUM)`, `HDU 0` or `file`: for one-line listings."""
        if self.hdu is None:
            return "file"
        return f"HDU {self.hdu}" + (f" ({self.extname})" if self.extname else "")


@dataclass
class Report:
    """The findings for one file; `ok` when none of them is an error."""

    file: str
    prodcatg: str | None = None
    findings: list = field(default_factory=list)

    @property
    def errors(self):
        return [item for item in self.findings if item.severity == ERROR]

    @property
    def warnings(self):
        return [item for item in self.findings if item.severity == WARNING]

    @property
    def ok(self):
        return not self.errors

    def as_dict(self):
        return {
            "file": self.file,
            "prodcatg": self.prodcatg,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [item.as_dict() for item in self.findings],
        }
