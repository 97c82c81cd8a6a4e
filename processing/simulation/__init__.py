"""Raw-frame simulators: realistic instrument data with known truth, for development and tests.

Pure Python, numpy and astropy; no Django. `simulate_nights` writes NACO nights (see naco.py).
"""

from processing.simulation.naco import MANIFEST, Manifest, simulate_nights

__all__ = ["MANIFEST", "Manifest", "simulate_nights"]
