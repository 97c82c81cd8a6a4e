"""Choice sets of the domain, each value with its label (and colour where pages show it).

Defined once here so that models, forms, templates and the CLI agree.
"""

from django.db import models


class InstanceMode(models.TextChoices):
    IDP = "IDP", "IDP (OB-based science products)"
    MCALIB = "MCALIB", "MCALIB (master calibrations)"
    DEEP = "DEEP", "DEEP (cross-OB products per run ID)"


class Engine(models.TextChoices):
    ESOREX = "esorex", "esorex (ESO CPL pipeline)"
    PYTHON = "python", "Python recipes shipped with Phoenix"


class CalSelectorMode(models.TextChoices):
    RAW2RAW = "raw2raw", "raw2raw (associate raw calibrations, make the masters)"
    RAW2MASTER = "raw2master", "raw2master (associate certified master calibrations)"


class AbSource(models.TextChoices):
    CREATE = "create", "create ABs from the data pool (createAB)"
    IMPORT = "import", "import historical AB files"


class PeriodSource(models.TextChoices):
    CONFIG = "config", "instance configuration file"
    OPERATOR = "operator", "set by an operator"
