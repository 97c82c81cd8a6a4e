"""Template helpers shared by every page: state colours (defined once, in processing.choices)
and the polling attributes of live partials."""

from django import template
from django.utils.html import format_html

from processing import choices

register = template.Library()

#: value → choice class of every state a page shows with a colour
_COLOURED = {
    "ab": choices.AbStatus,
    "batch": choices.BatchStatus,
    "qc": choices.QcStatus,
    "certification": choices.CertificationDecision,
    "ingest": choices.IngestStatus,
    "archive": choices.ArchiveStatus,
}


@register.simple_tag
def state(kind, value, label=None):
    """A coloured badge for a state: {% state "ab" ab.status %}."""
    kinds = _COLOURED[kind]
    colour = kinds.colour(value) if value in kinds.values else "#9aa5b1"
    text = label or (kinds(value).label if value in kinds.values else (value or "—"))
    return format_html('<span class="state" style="--state:{}" data-state="{}">{}</span>',
                       colour, value or "", text)  # fmt: skip


@register.simple_tag
def poll(url, seconds=5):
    """hx-* attributes of a live partial: reload `url` every `seconds` while the tab is
    visible, at once when it becomes visible again. The view stops the polling by answering
    286 once everything it shows is final (monitor.live.final)."""
    return format_html(
        'hx-get="{}" hx-swap="outerHTML" hx-trigger="every {}s [document.visibilityState === '
        "'visible'], visibilitychange[document.visibilityState === 'visible'] from:document\"",
        url, seconds,
    )  # fmt: skip
