"""Command line of the Python recipes, shaped like esorex's:

    python -m processing.recipes RECIPE [--param=value …] SOF [--output-dir DIR]

Exit status 0 when the recipe wrote its products (their paths are printed, one per line),
1 on a RecipeError (its message on stderr), 2 on a usage error. `--recipes` lists the recipes.
"""

import argparse
import logging
import sys
from pathlib import Path

from processing.recipes import RECIPES, RecipeError, recipe_function, run

LOG_FORMAT = "%(asctime)s [%(levelname)7s] %(name)s: %(message)s"


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m processing.recipes",
        description="Run a Phoenix Python recipe on a SOF, as esorex runs an ESO recipe.",
    )
    parser.add_argument("--output-dir", default=".", help="where the products go (default: .)")
    parser.add_argument("--log-level", default="info",
                        choices=["debug", "info", "warning", "error", "off"])
    parser.add_argument("--recipes", action="store_true", help="list the recipes and exit")
    parser.add_argument("recipe", nargs="?", help="recipe name, e.g. naco_img_dark")
    parser.add_argument("sof", nargs="?", help="set of frames: one 'path TAG' per line")
    # esorex style: recipe parameters (--name=value) may sit between the recipe and the SOF
    own = {"--output-dir", "--log-level", "--recipes", "-h", "--help"}
    options, rest = [], []
    for argument in argv:
        name = argument.split("=", 1)[0]
        if argument.startswith("--") and name not in own:
            options.append(argument)
        else:
            rest.append(argument)
    args = parser.parse_args(rest)
    if args.recipes:
        for name in sorted(RECIPES):
            doc = (recipe_function(name).__doc__ or "").strip().splitlines()
            print(f"  {name:<18}: {doc[0] if doc else ''}")
        return 0
    if not args.recipe or not args.sof:
        parser.print_usage(sys.stderr)
        print("error: RECIPE and SOF are required", file=sys.stderr)
        return 2
    if args.log_level != "off":
        logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT, stream=sys.stderr)
    try:
        products = run(args.recipe, Path(args.sof), options, Path(args.output_dir))
    except RecipeError as exc:
        print(f"{args.recipe}: error: {exc}", file=sys.stderr)
        return 1
    for path in products or []:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
