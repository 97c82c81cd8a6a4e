"""Association Blocks: from the data pool and the OCA rules of an instance to ABs.

Modules: scope (what a call covers), pool (frames and calibration candidates from the
database, with only the keywords the rules use), plan (the association plan of one select:
match keys, time windows, quality levels), engine (classification, organisation and
association, no database), create (the createAB entry point that writes ABs), files (the
DFOS text form of ABs).
"""
