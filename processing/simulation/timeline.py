"""Start times: frames one after the other, OBs near their targets' meridian passage.

Kept apart from what the OBs contain so that the rules for time are in one place: a frame
starts when the previous one has been integrated and read out (plus overhead), a template
starts after its preset, OBs never overlap and stay inside the science window, and every
start is rounded to the millisecond, the precision of an ARCFILE.
"""

from datetime import datetime, timedelta, timezone

from processing.simulation.exposures import sequence_id


def moment(night, clock, next_day):
    """UT datetime of a time of day in `night` (a date): that evening or the next morning."""
    day = night + timedelta(days=1 if next_day else 0)
    return datetime.combine(day, clock, tzinfo=timezone.utc)


def milliseconds(value):
    return value.replace(microsecond=(value.microsecond // 1000) * 1000)


def run_block(exposures, clock, rng):
    """Give an OB's exposures start times, one after the other; return the clock after them."""
    block = exposures[0].block
    block.start = clock
    template = None
    for exposure in exposures:
        if exposure.template is not template:
            template = exposure.template
            clock += timedelta(seconds=float(rng.uniform(20, 90)))  # preset, AO loop closing
            template.start = clock
        exposure.start = milliseconds(clock)
        exposure.sequence = sequence_id(template)
        clock += timedelta(seconds=exposure.duration + float(rng.uniform(0.0, 2.0)))
    return clock


def schedule(blocks, start, end, rng):
    """Start each OB (a Scheduled) at its aim, in order, never overlapping; if the last would
    end after `end`, pack the OBs backwards from `end` instead."""
    blocks.sort(key=lambda b: b.aim)
    clock = start
    for block in blocks:
        aim = start + timedelta(seconds=max(0.0, block.aim))
        clock = max(clock, aim) + timedelta(seconds=float(rng.uniform(60, 240)))
        clock = run_block(block.exposures, clock, rng)
    if clock <= end:
        return
    latest = end
    for block in reversed(blocks):
        last = block.exposures[-1]
        finish = last.start + timedelta(seconds=last.duration)
        if finish > latest:
            _shift(block.exposures, latest - finish)
        latest = block.exposures[0].block.start - timedelta(seconds=120)
    if blocks[0].exposures[0].block.start < start:
        raise ValueError("the simulated night holds more observations than fit into it")


def _shift(exposures, delta):
    moved = set()
    for exposure in exposures:
        exposure.start = milliseconds(exposure.start + delta)
        for thing in (exposure.template, exposure.block):
            if id(thing) not in moved:
                thing.start += delta
                moved.add(id(thing))
        exposure.sequence = sequence_id(exposure.template)
