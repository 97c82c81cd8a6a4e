"""QC plots of an AB (plotly): one figure per AB, written as an HTML page and a PNG.

The figure shows, per image product, a thumbnail and the pixel histogram, and per QC
parameter its trend over the instance's history (earlier ABs, by MJD-OBS) with the
thresholds drawn. Files go to <PHOENIX_DATA_ROOT>/plt/<pseudo date>/<AB>/ and are written
atomically (a unique temporary file in the same directory, then rename), so parallel QC jobs
and readers never see half a file.

HTML: plotly.js (≈4.7 MB) is written once per version as plt/plotly-<version>.min.js and the
pages load it by a relative path; each page stays small and works offline (file:// or a web
server that maps the plt/ tree). PNG: kaleido 1.x drives a headless Chrome/Chromium; without
one (or when it fails) the PNG is a grey-scale mosaic of the product thumbnails, drawn with
numpy and zlib, and the job reports a warning.
"""

import math
import os
import shutil
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from processing.conventions import mjd_to_datetime
from processing.files import atomic_write
from processing.layout import data_root

#: At most this many products get a thumbnail/histogram row, and this many parameters a trend.
MAX_IMAGE_PRODUCTS = 3
MAX_TRENDS = 8
#: Points of history per trend (the most recent before the AB).
HISTORY_POINTS = 1000
WIDTH = 1100
ROW_HEIGHT = 330
COLOURS = {0: "#2ca02c", 1: "#d62728", None: "#7f7f7f"}
PNG_TIMEOUT = 90


@dataclass
class Trend:
    """One trend panel: history [(mjd, value, score)], the AB's own points, its thresholds."""

    name: str
    unit: str
    history: list
    current: list  # [(mjd, value, score)]
    low: float | None = None
    high: float | None = None


def plot_dir(ab, root=None):
    """<root>/plt/<pseudo date>/<AB name>/ (pseudo date: the night, or the run ID)."""
    return Path(root or data_root()) / "plt" / (ab.pseudo_date or "undated") / ab.ab_name


def shared_plotlyjs(root=None):
    """plt/plotly-<version>.min.js, written once per plotly.js version (atomic, so parallel
    jobs at worst write the same bytes twice)."""
    from plotly.offline import get_plotlyjs, get_plotlyjs_version

    path = Path(root or data_root()) / "plt" / f"plotly-{get_plotlyjs_version()}.min.js"
    if not path.is_file():
        atomic_write(path, get_plotlyjs().encode("utf-8"))
    return path


# --- the figure --------------------------------------------------------------------------


def _percentile_range(image):
    values = image[np.isfinite(image)]
    if values.size == 0:
        return None, None
    low, high = np.percentile(values, [1.0, 99.0])
    if not high > low:
        high = low + 1.0
    return float(low), float(high)


def _dates(points):
    return [mjd_to_datetime(mjd) for mjd, _, _ in points]


def build_figure(title, images, trends):
    """images: [(label, thumbnail, (counts, edges) or None)]; trends: [Trend]."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    images = images[:MAX_IMAGE_PRODUCTS]
    trends = trends[:MAX_TRENDS]
    trend_rows = math.ceil(len(trends) / 2)
    rows = max(len(images) + trend_rows, 1)
    titles = []
    for label, _, _ in images:
        titles += [f"{label}: image", f"{label}: pixel histogram"]
    for trend in trends:
        titles.append(f"{trend.name}" + (f" [{trend.unit}]" if trend.unit else ""))
    fig = make_subplots(rows=rows, cols=2, subplot_titles=titles, vertical_spacing=0.35 / rows,
                        horizontal_spacing=0.08)
    for row, (label, thumb, hist) in enumerate(images, start=1):
        zmin, zmax = _percentile_range(thumb)
        fig.add_trace(go.Heatmap(z=thumb, zmin=zmin, zmax=zmax, colorscale="gray",
                                 showscale=False, name=label,
                                 hovertemplate="x %{x} y %{y}: %{z}<extra></extra>"),
                      row=row, col=1)
        axes = fig.get_subplot(row, 1)
        fig.update_yaxes(scaleanchor=axes.xaxis.plotly_name.replace("axis", ""),
                         constrain="domain", row=row, col=1)
        fig.update_xaxes(constrain="domain", showticklabels=False, row=row, col=1)
        fig.update_yaxes(showticklabels=False, row=row, col=1)
        if hist is not None:
            counts, edges = hist
            centres = (edges[:-1] + edges[1:]) / 2.0
            fig.add_trace(go.Bar(x=centres, y=counts, width=float(edges[1] - edges[0]),
                                 marker_color="#1f77b4", name=f"{label} histogram",
                                 showlegend=False), row=row, col=2)
            fig.update_yaxes(type="log", row=row, col=2)
    for index, trend in enumerate(trends):
        row, col = len(images) + 1 + index // 2, 1 + index % 2
        if trend.history:
            fig.add_trace(go.Scatter(
                x=_dates(trend.history), y=[v for _, v, _ in trend.history], mode="markers",
                marker={"size": 5, "opacity": 0.6,
                        "color": [COLOURS.get(s, COLOURS[None]) for _, _, s in trend.history]},
                name=f"{trend.name} history", showlegend=False,
            ), row=row, col=col)
        if trend.current:
            fig.add_trace(go.Scatter(
                x=_dates(trend.current), y=[v for _, v, _ in trend.current], mode="markers",
                marker={"size": 12, "symbol": "star", "line": {"width": 1, "color": "black"},
                        "color": [COLOURS.get(s, COLOURS[None]) for _, _, s in trend.current]},
                name=f"{trend.name} (this AB)", showlegend=False,
            ), row=row, col=col)
        for bound, text in ((trend.low, "low"), (trend.high, "high")):
            if bound is not None:
                fig.add_hline(y=bound, line={"color": "#d62728", "dash": "dash", "width": 1},
                              annotation_text=f"{text} {bound:g}", annotation_font_size=9,
                              row=row, col=col)
    fig.update_layout(title=title, width=WIDTH, height=max(rows, 1) * ROW_HEIGHT + 80,
                      template="plotly_white", margin={"l": 50, "r": 30, "t": 80, "b": 40},
                      showlegend=False)
    fig.update_annotations(font_size=11)
    return fig


# --- output ------------------------------------------------------------------------------


def write_html(fig, path, root=None):
    """The page, loading plt/plotly-<version>.min.js by a relative path."""
    script = shared_plotlyjs(root)
    relative = os.path.relpath(script, Path(path).parent)
    html = fig.to_html(include_plotlyjs=relative, full_html=True,
                       config={"displaylogo": False})
    return atomic_write(path, html.encode("utf-8"))


def browser_path():
    """The Chrome/Chromium kaleido would use (BROWSER_PATH, kaleido's own download, PATH),
    or None."""
    try:
        from choreographer.browsers.chromium import Chromium

        found = Chromium.find_browser(skip_local=False)
    except Exception:  # noqa: BLE001 — another choreographer version: search ourselves
        found = os.environ.get("BROWSER_PATH") or next(
            (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome",
                                       "google-chrome-stable", "chrome",
                                       "chromium-headless-shell") if shutil.which(n)), None)
    return found if found and os.access(found, os.X_OK) else None


_kaleido_browser = None  # the browser of this process's kaleido server, once started


def render_png(fig, browser):
    """PNG bytes of the figure through kaleido (raises on failure).

    The first call starts kaleido's server, which keeps one headless browser open for the
    life of the process: a worker then pays the browser's start (2–3 s) once, not per AB.
    A failing server is stopped, so the next call starts a fresh one.
    """
    global _kaleido_browser
    import kaleido

    if _kaleido_browser != browser:
        kaleido.stop_sync_server(silence_warnings=True)
        kaleido.start_sync_server(path=browser, mathjax=False, timeout=PNG_TIMEOUT, n=1,
                                  silence_warnings=True)  # fmt: skip
        _kaleido_browser = browser
    try:
        return kaleido.calc_fig_sync(
            fig.to_plotly_json(),
            opts={"format": "png", "width": fig.layout.width or WIDTH,
                  "height": fig.layout.height or ROW_HEIGHT, "scale": 1},
        )  # fmt: skip
    except Exception:
        kaleido.stop_sync_server(silence_warnings=True)
        _kaleido_browser = None
        raise


def write_png(fig, path, thumbnails):
    """Write the PNG; return a warning text when it is only the thumbnail mosaic, else ""."""
    browser = browser_path()
    reason = "no Chrome/Chromium for kaleido (install chromium or set BROWSER_PATH)"
    if browser is not None:
        try:
            data = render_png(fig, browser)
            if data[:8] == PNG_SIGNATURE:
                atomic_write(path, data)
                return ""
            reason = "kaleido returned no PNG"
        except Exception as exc:  # noqa: BLE001 — a crashing browser must not fail the QC job
            reason = f"kaleido failed: {type(exc).__name__}: {exc}"[:300]
    if not thumbnails:
        return f"{Path(path).name} not written: {reason}, and no image to show"
    atomic_write(path, mosaic_png(thumbnails))
    return f"{Path(path).name} shows only the image thumbnails: {reason}"


# --- a PNG without a browser -------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def encode_png(gray):
    """8-bit grey-scale PNG of a 2-D uint8 array."""
    gray = np.ascontiguousarray(gray, dtype=np.uint8)
    height, width = gray.shape
    raw = b"".join(b"\x00" + gray[row].tobytes() for row in range(height))

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6))
            + chunk(b"IEND", b""))


def _to_gray(image, size):
    low, high = _percentile_range(image)
    if low is None:
        scaled = np.zeros(image.shape)
    else:
        scaled = np.clip((np.nan_to_num(image, nan=low) - low) / (high - low), 0.0, 1.0)
    if max(scaled.shape) > size:  # thumbnails are smaller, but be safe: subsample
        step = math.ceil(max(scaled.shape) / size)
        scaled = scaled[::step, ::step]
    factor = max(1, size // max(scaled.shape))
    scaled = np.kron(scaled, np.ones((factor, factor)))  # nearest-neighbour enlargement
    canvas = np.full((size, size), 0.5)
    ny, nx = min(scaled.shape[0], size), min(scaled.shape[1], size)
    canvas[:ny, :nx] = scaled[::-1][:ny, :nx]  # FITS row 1 at the bottom, as plotly shows it
    return canvas


def mosaic_png(thumbnails, size=256, gap=8):
    """The thumbnails side by side (percentile-stretched), as PNG bytes."""
    tiles = [_to_gray(np.asarray(t, dtype=np.float64), size) for t in thumbnails]
    width = len(tiles) * size + (len(tiles) + 1) * gap
    canvas = np.ones((size + 2 * gap, width))
    for n, tile in enumerate(tiles):
        x = gap + n * (size + gap)
        canvas[gap : gap + size, x : x + size] = tile
    return encode_png((canvas * 255).round().astype(np.uint8))
