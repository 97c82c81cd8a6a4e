"""Builders for the archive tests: real FITS products registered as Product rows, the way
-M leaves them (moved, md5 and size known)."""

import hashlib
import os
from datetime import date

import numpy as np
from astropy.io import fits
from django.core.management import call_command

from processing.conventions import night_bounds_mjd
from processing.models import Instance, Product


def naco(**changes):
    """The NACO instance, loaded from its config, with `changes` saved on it."""
    call_command("load_instances", "NACO", stdout=open(os.devnull, "w"))
    instance = Instance.objects.get(name="NACO")
    for name, value in changes.items():
        setattr(instance, name, value)
    if changes:
        instance.save(update_fields=list(changes))
    return instance


def write_fits(path, *, value=1.0, header=None, shape=(16, 16)):
    """A small FITS image with CHECKSUM/DATASUM; `value` makes contents differ."""
    path.parent.mkdir(parents=True, exist_ok=True)
    hdu = fits.PrimaryHDU(np.full(shape, value, dtype=np.float32))
    for key, card in (header or {}).items():
        hdu.header[key] = card
    hdu.writeto(path, overwrite=True, checksum=True)
    return path


def register(instance, path, *, kind="master", night=date(2009, 6, 15),
             pro_catg="NACO_IMG_DARK_AVG", state="moved", **fields):
    """A Product row for the file at `path`, as -M leaves it."""
    data = path.read_bytes()
    return Product.objects.create(
        instance=instance, name=path.name, path=str(path), pro_catg=pro_catg, kind=kind,
        state=state, night=night, mjd_obs=night_bounds_mjd(night)[0] + 0.3,
        md5=hashlib.md5(data).hexdigest(), size=len(data), **fields,
    )  # fmt: skip


def master(instance, root, night=date(2009, 6, 15), *, name=None, value=1.0, new=False,
           kind="master"):
    """A master calibration in cal/<night> (cal/NEW/<night> with `new`: COMPLETE_MODE)."""
    name = name or f"NA_MDRK_{night}T01:00:00.000_{int(value * 1000)}.fits"
    folder = root / "cal" / ("NEW" if new else "") / night.isoformat()
    path = write_fits(folder / name, value=value,
                      header={"HIERARCH ESO PRO CATG": "NACO_IMG_DARK_AVG"})  # fmt: skip
    return register(instance, path, kind=kind, night=night)
