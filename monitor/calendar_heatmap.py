"""The calendar heat map of an instance: one row of weeks per year, one cell per night,
coloured by the state of the night's ABs; the hover shows the counts, a click opens the
night's AB monitor. Built with plotly in Python; the page draws the JSON with plotly.js."""

import json
from datetime import date, timedelta

from processing.choices import ACTIVE_STATES, AbStatus

#: a night's state, worst first: the first that applies colours the cell
NIGHT_STATES = (
    ("failed", "ABs failed", AbStatus.colour(AbStatus.FAILED)),
    ("active", "ABs pending, queued or running", AbStatus.colour(AbStatus.RUNNING)),
    ("created", "ABs created, not launched", AbStatus.colour(AbStatus.CREATED)),
    ("cancelled", "ABs cancelled, the rest succeeded", AbStatus.colour(AbStatus.CANCELLED)),
    ("success", "every AB succeeded", AbStatus.colour(AbStatus.SUCCESS)),
    ("raw", "raw data, no AB yet", "#e6e9ee"),
)
_CODE = {name: code for code, (name, _, _) in enumerate(NIGHT_STATES)}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def night_state(counts):
    """The NIGHT_STATES name of a night from its {status: count} (raw frames only: "raw")."""
    if counts.get(AbStatus.FAILED, 0) or counts.get(AbStatus.UPSTREAM_FAILED, 0):
        return "failed"
    if any(counts.get(state, 0) for state in ACTIVE_STATES):
        return "active"
    if counts.get(AbStatus.CREATED, 0):
        return "created"
    if counts.get(AbStatus.CANCELLED, 0):
        return "cancelled"
    if counts.get(AbStatus.SUCCESS, 0):
        return "success"
    return "raw"


def _week(night):
    """Column of a night in its year: weeks start on Monday, week 0 holds 1 January."""
    first = date(night.year, 1, 1)
    return (night.toordinal() - first.toordinal() + first.weekday()) // 7


def figure(nights, raw, url_of):
    """The plotly figure as a JSON-ready dict, or None without any night.

    `nights`: {night: {status: count, …}} (selectors.night_counts); `raw`: {night: frames};
    `url_of(night)`: the AB monitor of a night, opened by a click on its cell.
    """
    import plotly.graph_objects as go

    every = sorted(set(nights) | set(raw))
    if not every:
        return None
    years = list(range(every[-1].year, every[0].year - 1, -1))  # newest on top
    gap = 0.04
    height = (1 - gap * (len(years) - 1)) / len(years)
    colours = [colour for _, _, colour in NIGHT_STATES]
    steps = len(colours)
    scale = []
    for code, colour in enumerate(colours):
        scale += [[code / steps, colour], [(code + 1) / steps, colour]]
    fig = go.Figure()
    layout = {}
    for row, year in enumerate(years):
        z = [[None] * 54 for _ in range(7)]
        text = [[""] * 54 for _ in range(7)]
        links = [[""] * 54 for _ in range(7)]
        day = date(year, 1, 1)
        while day.year == year:
            counts = nights.get(day, {})
            frames = raw.get(day, 0)
            if counts or frames:
                y, x = day.weekday(), _week(day)
                z[y][x] = _CODE[night_state(counts)]
                text[y][x] = _hover(day, counts, frames)
                links[y][x] = url_of(day)
            day += timedelta(days=1)
        axis = "" if row == 0 else str(row + 1)
        fig.add_trace(go.Heatmap(
            z=z, text=text, customdata=links, hovertemplate="%{text}<extra></extra>",
            zmin=0, zmax=steps, colorscale=scale, showscale=False, xgap=2, ygap=2,
            xaxis="x", yaxis=f"y{axis}", hoverongaps=False,
        ))  # fmt: skip
        top = 1 - row * (height + gap)
        layout[f"yaxis{axis}"] = {
            "domain": [max(0.0, round(top - height, 6)), min(1.0, round(top, 6))], "autorange": "reversed", "tickvals": [0, 2, 4, 6],
            "ticktext": [WEEKDAYS[i] for i in (0, 2, 4, 6)], "title": {"text": str(year)},
            "fixedrange": True, "showgrid": False, "zeroline": False,
        }  # fmt: skip
    starts = [_week(date(2001, month, 1)) for month in range(1, 13)]  # a year starting on Monday
    fig.update_layout(
        height=40 + 120 * len(years), margin={"l": 60, "r": 10, "t": 10, "b": 30},
        xaxis={"tickvals": starts, "ticktext": list(MONTHS), "range": [-0.5, 53.5],
               "fixedrange": True, "showgrid": False, "zeroline": False, "side": "bottom"},
        plot_bgcolor="#fff", **layout,
    )  # fmt: skip
    return json.loads(fig.to_json())


def _hover(day, counts, frames):
    total = sum(counts.get(state, 0) for state in AbStatus.values)
    if not total:
        return f"{day.isoformat()}<br>{frames} raw frames, no AB yet"
    parts = [f"{counts[state]} {AbStatus(state).label.split(' (')[0]}"
             for state in AbStatus.values if counts.get(state, 0)]  # fmt: skip
    return (f"{day.isoformat()}<br>{total} ABs: {', '.join(parts)}"
            f"<br>{frames} raw frames")


def legend():
    """(label, colour) of each night state, for the legend under the figure."""
    return [(label, colour) for _, label, colour in NIGHT_STATES]
