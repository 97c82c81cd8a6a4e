"""Positional astronomy at Paranal, to the precision a raw header needs.

Why hand-written: the header values (LST, altitude, azimuth, airmass, parallactic angle) must
be plausible and consistent with each other and with the time of the frame, not
astrometrically exact; a few closed formulas give that without astropy's IERS tables, which
may try to download data and would make the output depend on the machine.
"""

import math
from datetime import datetime, timezone

from processing.simulation.instrument import SITE_LATITUDE, SITE_LONGITUDE

J2000 = datetime(2000, 1, 1, 12, tzinfo=timezone.utc)


def local_sidereal_time(moment):
    """Local mean sidereal time at Paranal, in seconds of time (0 … 86400)."""
    days = (moment - J2000).total_seconds() / 86400.0
    gmst_hours = 18.697374558 + 24.06570982441908 * days
    lst_hours = (gmst_hours + SITE_LONGITUDE / 15.0) % 24.0
    return lst_hours * 3600.0


def hour_angle_deg(moment, ra_deg):
    return ((local_sidereal_time(moment) / 240.0 - ra_deg + 180.0) % 360.0) - 180.0


def alt_az(moment, ra_deg, dec_deg):
    """(altitude, azimuth) in degrees; azimuth as ESO counts it, from south through west."""
    ha = math.radians(hour_angle_deg(moment, ra_deg))
    dec = math.radians(dec_deg)
    lat = math.radians(SITE_LATITUDE)
    sin_alt = math.sin(dec) * math.sin(lat) + math.cos(dec) * math.cos(lat) * math.cos(ha)
    alt = math.asin(max(-1.0, min(1.0, sin_alt)))
    az_north = math.atan2(
        -math.sin(ha) * math.cos(dec),
        math.sin(dec) * math.cos(lat) - math.cos(dec) * math.sin(lat) * math.cos(ha),
    )
    az_south = (math.degrees(az_north) + 180.0) % 360.0
    return math.degrees(alt), az_south


def airmass(altitude_deg):
    """Airmass from altitude (Young 1994), floored at a low altitude so values stay finite."""
    z = math.radians(90.0 - max(altitude_deg, 10.0))
    cos_z = math.cos(z)
    return (1.002432 * cos_z**2 + 0.148386 * cos_z + 0.0096467) / (
        cos_z**3 + 0.149864 * cos_z**2 + 0.0102963 * cos_z + 0.000303978
    )


def parallactic_angle(moment, ra_deg, dec_deg):
    ha = math.radians(hour_angle_deg(moment, ra_deg))
    dec = math.radians(dec_deg)
    lat = math.radians(SITE_LATITUDE)
    return math.degrees(
        math.atan2(math.sin(ha), math.tan(lat) * math.cos(dec) - math.sin(dec) * math.cos(ha))
    )


def sexagesimal_ra(ra_deg):
    """`hh:mm:ss.sss`, the form ESO puts in the RA comment."""
    seconds = round((ra_deg % 360.0) / 15.0 * 3600.0, 3) % 86400.0
    hours, rest = divmod(seconds, 3600.0)
    minutes, secs = divmod(rest, 60.0)
    return f"{int(hours):02d}:{int(minutes):02d}:{secs:06.3f}"


def sexagesimal_dec(dec_deg):
    sign = "-" if dec_deg < 0 else "+"
    arcsec = round(abs(dec_deg) * 3600.0, 2)
    degrees, rest = divmod(arcsec, 3600.0)
    minutes, secs = divmod(rest, 60.0)
    return f"{sign}{int(degrees):02d}:{int(minutes):02d}:{secs:05.2f}"


def eso_alpha(ra_deg):
    """TEL.TARG.ALPHA: RA as the number hhmmss.sss."""
    hours, minutes, seconds = sexagesimal_ra(ra_deg).split(":")
    return float(f"{hours}{minutes}{seconds}")


def eso_delta(dec_deg):
    """TEL.TARG.DELTA: Dec as the number ±ddmmss.ss."""
    text = sexagesimal_dec(dec_deg)
    sign = -1.0 if text[0] == "-" else 1.0
    degrees, minutes, seconds = text[1:].split(":")
    return sign * float(f"{degrees}{minutes}{seconds}")


def lst_for_ra(moment_start, moment_end, ra_deg):
    """The moment between two others when a target of right ascension `ra_deg` transits
    (or the nearer end if it transits outside), for scheduling near the meridian."""
    ha_start = hour_angle_deg(moment_start, ra_deg)
    seconds = -ha_start * 240.0 / 1.0027379
    span = (moment_end - moment_start).total_seconds()
    return max(0.0, min(span, seconds))
