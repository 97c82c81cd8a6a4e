"""Random generators derived from the seed and a name, never shared.

Why: each frame, field and flat pattern draws from its own generator, seeded from the run's
seed and what it is for (`seed, "frame", ARCFILE`). The output then does not depend on the
order in which things are generated, a change to one part of the plan does not reshuffle the
noise of every later frame, and two runs with the same seed give identical bytes.
"""

import hashlib

import numpy as np


def seed_for(seed, *parts):
    text = "\x1f".join([str(seed), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def rng_for(seed, *parts):
    return np.random.default_rng(seed_for(seed, *parts))
