"""The ESO HDUCLASS scheme of images and IFS cubes: each extension says what it holds
(HDUCLAS2 = DATA, ERROR, QUALITY …) and the data, error and quality extensions name each other
by EXTNAME (SCIDATA, ERRDATA, QUALDATA).

Each function takes the product and yields (hdu index or None, keyword, message).
"""

from processing.phase3.kinds import show

ERROR_KINDS = ("MSE", "RMSE", "INVMSE", "INVRMSE")
QUALITY_KINDS = ("MASKZERO", "MASKONE", "FLAG32BIT", "FLAG16BIT")
#: What the data extension calls its error and quality extensions.
POINTERS = (("ERROR", "ERRDATA"), ("QUALITY", "QUALDATA"))


def classes_allowed(allowed):
    def run(product):
        for index in range(1, len(product.headers)):
            value = product.text("HDUCLAS2", index)
            if value is not None and value not in allowed:
                yield index, "HDUCLAS2", (f"HDUCLAS2 = {value!r}: expected one of "
                                          f"{', '.join(allowed)}")
    return run


def data_extension(product):
    if not product.extensions_of_class("DATA"):
        yield None, "HDUCLAS2", "no extension has HDUCLAS2 = 'DATA' (the science data)"


def third_class(product):
    for kind, accepted in (("ERROR", ERROR_KINDS), ("QUALITY", QUALITY_KINDS)):
        for index in product.extensions_of_class(kind):
            value = product.values(index).get("HDUCLAS3")
            if not (isinstance(value, str) and value.strip() in accepted):
                yield index, "HDUCLAS3", (f"HDUCLAS3 = {show(value)}: a {kind} extension needs "
                                          f"one of {', '.join(accepted)}")


def links(product):
    """Error/quality extensions point at the data (SCIDATA), the data at them (ERRDATA,
    QUALDATA). Not checked without a data extension (HDUCLASS-DATA reports that)."""
    data = product.extensions_of_class("DATA")
    if not data:
        return
    data_names = {product.extname(index) for index in data}
    for kind, pointer in POINTERS:
        companions = product.extensions_of_class(kind)
        names = {product.extname(index) for index in companions}
        for index in companions:
            value = product.text("SCIDATA", index)
            if value not in data_names:
                yield index, "SCIDATA", (f"SCIDATA = {show(value)}: expected the EXTNAME of the "
                                         f"DATA extension ({', '.join(sorted(data_names))})")
        for index in data:
            value = product.text(pointer, index)
            if (companions or value is not None) and value not in names:
                wanted = ", ".join(sorted(names)) or f"there is no {kind} extension"
                yield index, pointer, (f"{pointer} = {show(value)}: expected the EXTNAME of the "
                                       f"{kind} extension ({wanted})")
