"""phoenix -P: the dependency-aware processing queue on django-q2.

actions.py   launch, cancel, re-run with dependants (the operator's entry points)
schedule.py  which pending ABs may be queued; failures to dependants; batch completion
attempt.py   processAB: claim with a lease, run the recipe, register products or fail
qc_job.py    processQC as its own task
reaper.py    expired leases back to the queue, stale work directories away
sof.py       an AB's inputs and calibrations as files
"""
