class ConversionError(Exception):
    """The product cannot be converted; the message says why (the caller names the product)."""
