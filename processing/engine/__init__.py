"""Recipe engines: run one AB's recipe on its SOF in a work directory.

Two engines share one interface (base.RecipeEngine): esorex runs the ESO CPL pipelines as a
subprocess, python runs the recipes shipped in processing/recipes in a child forked by the
worker's zygote. Both start the recipe as the leader of its own process group, so a timeout
or a cancel kills the whole tree, and both write products whose headers carry HIERARCH ESO
PRO CATG, the PRO.REC1 provenance and the QC keywords; products.py collects them the same way.
"""

from processing.engine.base import (
    RecipeCall,
    RecipeEngine,
    RecipeOutcome,
    SofEntry,
    engine_for,
    engine_named,
)

__all__ = ["RecipeCall", "RecipeEngine", "RecipeOutcome", "SofEntry", "engine_for", "engine_named"]
