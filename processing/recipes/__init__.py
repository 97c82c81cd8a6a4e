"""Python recipes shipped with Phoenix: the NACO imaging cascade without esorex.

Each recipe takes the same SOF tags and esorex-style parameters as the ESO recipe of the same
name and writes products with the same PRO.CATG, provenance (PRO.REC1.RAWi/CALi) and QC
keywords, so rules, association and QC do not care which engine ran. The python engine
(processing/engine/python.py) calls `run` in a child forked by the worker's zygote
(processing/engine/zygote.py), whose stdout/stderr is the log.

A recipe is a function (frames, options, output_dir, log) → list of product paths, where
frames are SofEntry (path, tag), options maps parameter names (without `--`) to text values,
and log is a logging.Logger. It raises RecipeError with a message an operator understands.

RECIPES names each recipe's module and function; the module is imported when the recipe is
first wanted (`recipe_function`). The zygote imports it before forking the recipe's first
child, so later children inherit it: a zygote carries the libraries of the recipes its
worker runs (astropy for the NACO ones), no more, and a recipe module that fails to import
fails that recipe's ABs (the traceback in their logs), not every Python recipe.
"""

import importlib
import logging
from pathlib import Path

from processing.engine.base import SofEntry
from processing.recipes.errors import RecipeError

__all__ = ["RECIPES", "RecipeError", "parse_parameters", "phoenix_noop", "read_sof",
           "recipe_function", "run"]  # fmt: skip


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


#: recipe name → "module:function"
RECIPES = {
    "phoenix_noop": "processing.recipes:phoenix_noop",
    "phoenix_wait": "processing.recipes.diagnostic:phoenix_wait",
    "naco_img_dark": "processing.recipes.naco:naco_img_dark",
    "naco_img_twflat": "processing.recipes.naco:naco_img_twflat",
    "naco_img_jitter": "processing.recipes.naco:naco_img_jitter",
}


def recipe_function(name):
    """The function of recipe `name`, its module imported. RecipeError for an unknown name;
    an import error of the module propagates (its traceback is what the operator needs)."""
    target = RECIPES.get(name)
    if target is None:
        raise RecipeError(
            f"no Python recipe named {name!r}; the Python recipes are {', '.join(sorted(RECIPES))}"
        )
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def run(name, sof_path, parameters, output_dir):
    """Run recipe `name` on the SOF; return the product paths. Raises RecipeError."""
    recipe = recipe_function(name)
    log = logging.getLogger(f"recipe.{name}")
    try:
        frames = read_sof(sof_path)
    except OSError as exc:
        raise RecipeError(f"cannot read the SOF {sof_path}: {exc.strerror or exc}") from exc
    for entry in frames:
        if not entry.path.is_file():
            raise RecipeError(f"input {entry.path} (tag {entry.tag}) does not exist")
    return recipe(frames, parse_parameters(parameters), Path(output_dir), log)
