"""The calendar heat map of an instance: one row of weeks per year, one cell per night,
coloured by the state of the night's ABs; the hover shows the counts, a click opens the
night's AB monitor. Built with plotly in Python; the page draws the JSON with plotly.js."""

from datetime import date, timedelta

from django.utils.safestring import mark_safe

from processing.choices import ACTIVE_STATES, FINAL_STATES, AbStatus

#: a night whose processed ABs failed in this share (or more) is fully red; none failed is green
RED_SHARE = 0.20
_GREEN, _YELLOW, _RED = (AbStatus.colour(AbStatus.SUCCESS), "#e8c547",
                         AbStatus.colour(AbStatus.FAILED))  # fmt: skip
#: nights not (or not yet fully) processed: name, legend label, colour, value in the heat map
WAITING = (
    ("created", "ABs created, none processed yet", AbStatus.colour(AbStatus.CREATED), 1.25),
    ("active", "ABs pending, queued or running", AbStatus.colour(AbStatus.RUNNING), 1.5),
    ("raw", "raw data, no AB yet", "#dfe3e8", 1.75),
)
_ZMAX = 2.0
#: value → colour: 0…1 the share of failed ABs (green → yellow at 5 % → red at RED_SHARE),
#: then one band per WAITING state
COLORSCALE = [[0.0, _GREEN], [0.125, _YELLOW], [0.5, _RED]] + [
    stop for number, (_, _, colour, _) in enumerate(WAITING)
    for stop in ([0.5 + number * 0.5 / len(WAITING), colour],
                 [0.5 + (number + 1) * 0.5 / len(WAITING), colour])
]  # fmt: skip
_FAILED_STATES = (AbStatus.FAILED, AbStatus.UPSTREAM_FAILED)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def night_value(counts):
    """The heat map value of a night from its {status: count}: a night with ABs pending,
    queued or running, with only created ABs, or with raw frames only gets its WAITING value;
    a processed night the share of its final ABs that failed, scaled so that RED_SHARE is 1."""
    waiting = {name: value for name, _, _, value in WAITING}
    if any(counts.get(state, 0) for state in ACTIVE_STATES):
        return waiting["active"]
    final = sum(counts.get(state, 0) for state in FINAL_STATES)
    if not final:
        return waiting["created"] if counts.get(AbStatus.CREATED, 0) else waiting["raw"]
    failed = sum(counts.get(state, 0) for state in _FAILED_STATES)
    return round(min(1.0, failed / final / RED_SHARE), 4)


def _week(night):
    """Column of a night in its year: weeks start on Monday, week 0 holds 1 January."""
    first = date(night.year, 1, 1)
    return (night.toordinal() - first.toordinal() + first.weekday()) // 7


def figure(nights, raw):
    """The plotly figure as JSON text, safe to put in a <script type="application/json">; None
    without any night.

    `nights`: {night: {status: count, …}} (selectors.night_counts); `raw`: {night: frames}.
    A cell's customdata is its night, which the page turns into the link to the night's AB
    monitor. The traces are plain dicts serialised by plotly.io without validation: validating
    ~3 000 cells through graph_objects took half a second per page.
    """
    import plotly.io

    every = sorted(set(nights) | set(raw))
    if not every:
        return None
    years = list(range(every[-1].year, every[0].year - 1, -1))  # newest on top
    gap = 0.04
    height = (1 - gap * (len(years) - 1)) / len(years)
    data, layout = [], {}
    for row, year in enumerate(years):
        z = [[None] * 54 for _ in range(7)]
        text = [[""] * 54 for _ in range(7)]
        links = [[""] * 54 for _ in range(7)]
        first = date(year, 1, 1)
        for ordinal in range(first.toordinal(), date(year, 12, 31).toordinal() + 1):
            day = date.fromordinal(ordinal)
            counts = nights.get(day)
            frames = raw.get(day, 0)
            if counts or frames:
                y, x = day.weekday(), (ordinal - first.toordinal() + first.weekday()) // 7
                z[y][x] = night_value(counts or {})
                text[y][x] = _hover(day, counts or {}, frames)
                links[y][x] = day.isoformat()
        axis = "" if row == 0 else str(row + 1)
        data.append({
            "type": "heatmap", "z": z, "text": text, "customdata": links,
            "hovertemplate": "%{text}<extra></extra>", "zmin": 0, "zmax": _ZMAX,
            "colorscale": COLORSCALE, "showscale": False, "xgap": 2, "ygap": 2, "xaxis": "x",
            "yaxis": f"y{axis}", "hoverongaps": False,
        })  # fmt: skip
        top = 1 - row * (height + gap)
        layout[f"yaxis{axis}"] = {
            "domain": [max(0.0, round(top - height, 6)), min(1.0, round(top, 6))],
            "autorange": "reversed", "tickvals": [0, 2, 4, 6],
            "ticktext": [WEEKDAYS[i] for i in (0, 2, 4, 6)], "title": {"text": str(year)},
            "fixedrange": True, "showgrid": False, "zeroline": False,
        }  # fmt: skip
    starts = [_week(date(2001, month, 1)) for month in range(1, 13)]  # a year starting on Monday
    layout.update(
        height=40 + 120 * len(years), margin={"l": 60, "r": 10, "t": 10, "b": 30},
        xaxis={"tickvals": starts, "ticktext": list(MONTHS), "range": [-0.5, 53.5],
               "fixedrange": True, "showgrid": False, "zeroline": False},
        plot_bgcolor="#fff",
    )  # fmt: skip
    text = plotly.io.to_json({"data": data, "layout": layout}, validate=False)
    # as Django's json_script does: no "</script>" or "<!--" can end the element early
    return mark_safe(text.replace("<", "\\u003C").replace(">", "\\u003E").replace("&", "\\u0026"))


#: the short label of each AB state, for the hover
_LABELS = {state: label.split(" (")[0] for state, label in AbStatus.choices}


def _hover(day, counts, frames):
    total = sum(counts.get(state, 0) for state in _LABELS)
    if not total:
        return f"{day.isoformat()}<br>{frames} raw frames, no AB yet"
    parts = ", ".join(f"{counts[state]} {label}" for state, label in _LABELS.items()
                      if counts.get(state, 0))  # fmt: skip
    final = sum(counts.get(state, 0) for state in FINAL_STATES)
    failed = sum(counts.get(state, 0) for state in _FAILED_STATES)
    share = f" ({100 * failed / final:.1f} % of the processed failed)" if final else ""
    return f"{day.isoformat()}<br>{total} ABs: {parts}{share}<br>{frames} raw frames"


def legend():
    """What the colours say, for the legend under the figure: (label, CSS background)."""
    gradient = f"linear-gradient(90deg, {_GREEN}, {_YELLOW} 25%, {_RED})"
    return [(f"processed: share of the ABs failed, 0 % … {RED_SHARE:.0%} or more", gradient)] + [
        (label, colour) for _, label, colour, _ in WAITING
    ]
