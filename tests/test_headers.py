"""The header reader: same values as astropy for valid cards, warnings for messy ones,
clear errors for files that are not (complete) FITS."""

import gzip
import warnings

import numpy as np
import pytest
from astropy.io import fits

from processing.headers import HeaderError, oca_name, read_header


def card(text):
    return text.ljust(80)[:80] if len(text) <= 80 else text


def raw_fits(cards, data=b"", naxis=(), bitpix=8):
    """FITS bytes with exactly these cards (astropy refuses some of them, e.g. NaN)."""
    head = [f"SIMPLE  = {'T':>20}", f"BITPIX  = {bitpix:>20}", f"NAXIS   = {len(naxis):>20}"]
    head += [f"NAXIS{i + 1:<3}= {n:>20}" for i, n in enumerate(naxis)]
    text = "".join(card(c) for c in head + list(cards)) + card("END")
    text += " " * (-len(text) % 2880)
    padding = b"\0" * (-len(data) % 2880)
    return text.encode("ascii") + data + padding


def eso_header():
    header = fits.Header()
    header["ARCFILE"] = "NACO.2009-06-15T23:01:02.123.fits"
    header["ORIGFILE"] = "NACO_IMG_SCI166_0001.fits"
    header["MJD-OBS"] = 54997.95905
    header["DATE-OBS"] = "2009-06-15T23:01:02.1230"
    header["EXPTIME"] = 30.0
    header["OBJECT"] = "  NGC 6093 "
    header["RA"] = 244.260042
    header["DEC"] = -22.97608
    header["HIERARCH ESO DPR CATG"] = "SCIENCE"
    header["HIERARCH ESO DPR TYPE"] = "OBJECT"
    header["HIERARCH ESO DPR TECH"] = "IMAGE,JITTER"
    header["HIERARCH ESO OBS ID"] = 200123456
    header["HIERARCH ESO OBS NAME"] = "it's a name"
    header["HIERARCH ESO OBS PROG ID"] = "083.D-0123(A)"
    header["HIERARCH ESO TPL START"] = "2009-06-15T22:58:11"
    header["HIERARCH ESO DET DIT"] = 1.7927
    header["HIERARCH ESO DET NDIT"] = 17
    header["HIERARCH ESO DET NCORRS NAME"] = "Double_RdRstRd"
    header["HIERARCH ESO SEQ CUMOFFSETX"] = -12.5
    header["HIERARCH ESO SEQ RELOFFSETY"] = 1e-5
    header["HIERARCH ESO INS OPTI6 NAME"] = "Ks"
    header["HIERARCH ESO TEL AIRM START"] = 1.043
    header["HIERARCH ESO AOS RTC DET DST L0MEAN"] = 23.5
    header["HIERARCH ESO DET CHOP ST"] = False
    header["HIERARCH ESO INS LONG NAME"] = "x" * 120  # written with CONTINUE cards
    header["HIERARCH ESO OCS EMPTY"] = ""
    header["COMMENT"] = "a comment"
    header["HISTORY"] = "a history line"
    return header


def astropy_values(path_or_header):
    header = path_or_header
    if not isinstance(header, fits.Header):
        header = fits.getheader(path_or_header)
    values = {}
    for key in header:
        if key in {"COMMENT", "HISTORY", ""}:
            continue
        name = oca_name(f"HIERARCH {key}" if " " in key else key)
        values[name] = header[key]
    return values


@pytest.fixture
def eso_fits(tmp_path):
    path = tmp_path / "NACO.2009-06-15T23:01:02.123.fits"
    fits.writeto(path, np.arange(64 * 32, dtype=np.int32).reshape(32, 64), eso_header())
    return path


class TestValuesAgreeWithAstropy:
    def test_every_kept_keyword(self, eso_fits):
        read = read_header(eso_fits, prefixes=("DPR", "OBS", "TPL", "DET", "SEQ", "INS", "OCS"))
        expected = astropy_values(eso_fits)
        kept = {k: v for k, v in expected.items() if not k.startswith(("TEL.", "AOS."))}
        assert read.keywords == kept
        assert read.warnings == []

    def test_types(self, eso_fits):
        kw = read_header(eso_fits).keywords
        assert kw["OBJECT"] == "  NGC 6093"  # leading blanks kept, trailing dropped
        assert kw["OBS.NAME"] == "it's a name"
        assert kw["OBS.ID"] == 200123456 and isinstance(kw["OBS.ID"], int)
        assert kw["DET.DIT"] == 1.7927
        assert kw["SEQ.RELOFFSETY"] == 1e-5
        assert kw["DET.CHOP.ST"] is False
        assert kw["INS.LONG.NAME"] == "x" * 120
        assert kw["OCS.EMPTY"] == ""

    def test_categories_not_asked_for_stay_in_the_stored_header_only(self, eso_fits):
        read = read_header(eso_fits)
        assert "TEL.AIRM.START" not in read.keywords
        assert "HIERARCH ESO TEL AIRM START = 1.043" in read.text
        assert read_header(eso_fits, prefixes=("TEL",)).keywords["TEL.AIRM.START"] == 1.043

    def test_random_headers(self, tmp_path):
        rng = np.random.default_rng(7)
        header = fits.Header()
        for i in range(400):
            kind = i % 5
            value = [
                float(rng.normal() * 10.0 ** rng.integers(-8, 8)),
                int(rng.integers(-(10**9), 10**9)),
                bool(rng.integers(2)),
                "v" + "'" * int(rng.integers(0, 3)) + " " * int(rng.integers(0, 3)) + str(i),
                float(rng.integers(-5, 5)),
            ][kind]
            header[f"HIERARCH ESO INS K{i} SUB"] = value
        path = tmp_path / "random.fits"
        fits.writeto(path, np.zeros((2, 2), dtype=np.int16), header)
        read = read_header(path)
        assert read.keywords == astropy_values(path)

    def test_d_exponent_and_signed_forms(self, tmp_path):
        path = tmp_path / "forms.fits"
        path.write_bytes(
            raw_fits(["DEXP    =              1.5D+03", "PLUS    =                  +12",
                      "DOT     =                   .5", "TRAIL   =                  1.E5",
                      "CPLX    =           (1.0, 2.0)"])  # fmt: skip
        )
        kw = read_header(path).keywords
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = fits.getheader(path)
        assert kw["DEXP"] == header["DEXP"] == 1500.0
        assert kw["PLUS"] == header["PLUS"] == 12
        assert kw["DOT"] == header["DOT"] == 0.5
        assert kw["TRAIL"] == header["TRAIL"] == 1e5
        assert kw["CPLX"] == [1.0, 2.0]


class TestMessyCards:
    def test_nan_blank_and_duplicate_give_warnings(self, tmp_path):
        path = tmp_path / "messy.fits"
        path.write_bytes(
            raw_fits(["HIERARCH ESO DET DIT = NaN / broken sensor", "EXPTIME =",
                      "HIERARCH ESO DPR CATG = 'CALIB'", "HIERARCH ESO DPR CATG = 'SCIENCE'",
                      "HIERARCH ESO  INS   FILT1 NAME = 'Ks'"])  # fmt: skip
        )
        read = read_header(path)
        assert read.keywords["DET.DIT"] is None
        assert read.keywords["EXPTIME"] is None
        assert read.keywords["DPR.CATG"] == "SCIENCE"
        assert read.keywords["INS.FILT1.NAME"] == "Ks"
        messages = " | ".join(read.warnings)
        assert "DET.DIT: value is NaN" in messages
        assert "EXPTIME: blank value" in messages
        assert "DPR.CATG: keyword appears more than once" in messages

    def test_unterminated_string(self, tmp_path):
        path = tmp_path / "quote.fits"
        path.write_bytes(raw_fits(["OBJECT  = 'no end quote"]))
        read = read_header(path)
        assert read.keywords["OBJECT"] == "no end quote"
        assert any("OBJECT: unterminated string" in w for w in read.warnings)


class TestFileKinds:
    def test_gzip(self, tmp_path, eso_fits):
        gz = tmp_path / "frame.fits.gz"
        gz.write_bytes(gzip.compress(eso_fits.read_bytes()))
        assert read_header(gz).keywords == read_header(eso_fits).keywords

    def test_fpack_compressed_image(self, tmp_path):
        header = eso_header()
        path = tmp_path / "frame.fits.fz"
        hdus = fits.HDUList(
            [fits.PrimaryHDU(), fits.CompImageHDU(np.ones((32, 32), np.int32), header=header)]
        )
        hdus.writeto(path)
        read = read_header(path)
        assert read.keywords["ARCFILE"] == "NACO.2009-06-15T23:01:02.123.fits"
        assert read.keywords["DPR.TECH"] == "IMAGE,JITTER"
        assert read.keywords["DET.DIT"] == 1.7927
        assert "ZIMAGE" not in read.keywords

    def test_hdr_dump_equals_the_fits_header(self, tmp_path, eso_fits):
        from_fits = read_header(eso_fits)
        hdr = tmp_path / "frame.hdr"
        hdr.write_text("\n".join(c.rstrip() for c in from_fits.cards) + "\nEND\n")
        from_hdr = read_header(hdr)
        assert from_hdr.kind == "hdr"
        assert from_hdr.keywords == from_fits.keywords
        assert from_hdr.digest == from_fits.digest

    def test_hdr_with_long_card(self, tmp_path):
        hdr = tmp_path / "long.hdr"
        long_card = "HIERARCH ESO OBS NAME = '" + "N" * 90 + "' / an over-long card"
        hdr.write_text(f"SIMPLE  =                    T\n{long_card}\nEND\n")
        read = read_header(hdr)
        assert read.keywords["OBS.NAME"] == "N" * 90
        assert any("characters long" in w for w in read.warnings)

    def test_multi_extension_file(self, tmp_path, eso_fits):
        path = tmp_path / "mef.fits"
        fits.HDUList(
            [fits.PrimaryHDU(header=eso_header()), fits.ImageHDU(np.zeros((10, 10), "f4"))]
        ).writeto(path)
        assert read_header(path).keywords["DPR.CATG"] == "SCIENCE"
        path.write_bytes(path.read_bytes()[:-2880])  # cut inside the extension's data
        with pytest.raises(HeaderError, match="data of the extension 1"):
            read_header(path)


class TestBadFiles:
    def test_truncated_data(self, tmp_path, eso_fits):
        path = tmp_path / "cut.fits"
        path.write_bytes(eso_fits.read_bytes()[:-4000])
        with pytest.raises(HeaderError, match=r"truncated: the data of the primary HDU needs 8192"):
            read_header(path)

    def test_truncated_header(self, tmp_path, eso_fits):
        path = tmp_path / "cut.fits"
        path.write_bytes(eso_fits.read_bytes()[:1000])
        with pytest.raises(HeaderError, match="truncated: the primary header"):
            read_header(path)

    def test_missing_end_card(self, tmp_path):
        path = tmp_path / "noend.fits"
        path.write_bytes(raw_fits(["OBJECT  = 'x'"]).replace(b"END ", b"XYZ "))
        with pytest.raises(HeaderError, match="before its END card"):
            read_header(path)

    def test_truncated_gzip(self, tmp_path, eso_fits):
        path = tmp_path / "cut.fits.gz"
        path.write_bytes(gzip.compress(eso_fits.read_bytes())[:-40])
        with pytest.raises(HeaderError, match="truncated"):
            read_header(path)

    def test_unpadded_last_block_is_only_a_warning(self, tmp_path):
        path = tmp_path / "short.fits"
        path.write_bytes(raw_fits([], data=b"0123456789", naxis=(10,), bitpix=8)[: 2880 + 10])
        read = read_header(path)
        assert any("not padded" in w for w in read.warnings)

    @pytest.mark.parametrize(
        "name, content, reason",
        [
            ("text.fits", b"hello, I am not FITS\n" * 200, "not a FITS file"),
            ("empty.fits", b"", "empty file"),
            ("binary.fits", bytes(range(256)) * 20, "not a FITS file"),
            ("notgz.fits.gz", b"SIMPLE  = T" * 300, "cannot read"),
            ("binary.hdr", b"\x00\x01\x02" * 100, "binary content"),
            ("prose.hdr", b"just some text\nwithout cards\n", "no KEYWORD = value cards"),
        ],
    )
    def test_not_headers(self, tmp_path, name, content, reason):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(HeaderError, match=reason):
            read_header(path)

    def test_missing_and_unreadable(self, tmp_path):
        with pytest.raises(HeaderError, match="cannot open: No such file"):
            read_header(tmp_path / "nope.fits")
        with pytest.raises(HeaderError, match="cannot open"):
            read_header(tmp_path)  # a directory
