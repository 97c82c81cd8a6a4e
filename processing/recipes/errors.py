"""The one exception of the Python recipes (re-exported as processing.recipes.RecipeError)."""


class RecipeError(Exception):
    """The recipe cannot produce its products; the message says which input and why."""
