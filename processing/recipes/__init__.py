"""Python recipes shipped with Phoenix: the NACO imaging cascade without esorex.

Each recipe takes the same SOF tags and esorex-style parameters as the ESO recipe of the same
name and writes products with the same PRO.CATG, provenance (PRO.REC1.RAWi/CALi) and QC
keywords, so rules, association and QC do not care which engine ran. The python engine
(processing/engine/python.py) calls `run` in a child forked by the worker's zygote
(processing/engine/zygote.py), whose stdout/stderr is the log.

A recipe is a function (frames, options, output_dir, log) → list of product paths, where
frames are SofEntry (path, tag), options maps parameter names (without `--`) to text values,
and log is a logging.Logger. It raises RecipeError with a message an operator understands.
"""

import logging
from pathlib import Path

from processing.engine.base import SofEntry
from processing.recipes.diagnostic import phoenix_wait
from processing.recipes.errors import RecipeError
from processing.recipes.naco import naco_img_dark, naco_img_jitter, naco_img_twflat

__all__ = ["RECIPES", "RecipeError", "parse_parameters", "phoenix_noop", "read_sof", "run"]


def read_sof(path):
    """SofEntry per non-empty, non-comment line of a SOF file (`path TAG`)."""
    entries = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) < 2:
            raise RecipeError(f"{path}:{number}: expected 'path TAG', found {line!r}")
        entries.append(SofEntry(Path(parts[0]), parts[1]))
    return entries


def parse_parameters(parameters):
    """esorex-style ["--name=value", …] → {name: value}; a bare --flag means TRUE."""
    options = {}
    for parameter in parameters:
        if not parameter.startswith("--"):
            raise RecipeError(f"parameter {parameter!r} does not start with --")
        name, _, value = parameter[2:].partition("=")
        options[name] = value if _ else "TRUE"
    return options


def phoenix_noop(frames, options, output_dir, log):
    """Does nothing, writes nothing: measures the cost of orchestration (benchmarks)."""
    log.info("phoenix_noop: %d frames, nothing to do", len(frames))
    return []


RECIPES = {
    "phoenix_noop": phoenix_noop,
    "phoenix_wait": phoenix_wait,
    "naco_img_dark": naco_img_dark,
    "naco_img_twflat": naco_img_twflat,
    "naco_img_jitter": naco_img_jitter,
}


def run(name, sof_path, parameters, output_dir):
    """Run recipe `name` on the SOF; return the product paths. Raises RecipeError."""
    recipe = RECIPES.get(name)
    if recipe is None:
        raise RecipeError(
            f"no Python recipe named {name!r}; the Python recipes are {', '.join(sorted(RECIPES))}"
        )
    log = logging.getLogger(f"recipe.{name}")
    try:
        frames = read_sof(sof_path)
    except OSError as exc:
        raise RecipeError(f"cannot read the SOF {sof_path}: {exc.strerror or exc}") from exc
    for entry in frames:
        if not entry.path.is_file():
            raise RecipeError(f"input {entry.path} (tag {entry.tag}) does not exist")
    return recipe(frames, parse_parameters(parameters), Path(output_dir), log)
