"""IDP conversion: certified science products become IDPs compliant with the ESO Science Data
Products standard (DFOS' conversion step; IdpConversion rows are its CONVERTED log).
What each keyword is derived from, the zero-point method and what is nominal: docs/IDP.md.

    from processing.idp import convert_product
    conversion = convert_product(product, actor_name="cli:qc@muc08")   # an IdpConversion
"""

from processing.idp.errors import ConversionError
from processing.idp.service import CONVERTIBLE_STATES, convert_product, convert_products, idp_dir

__all__ = ["CONVERTIBLE_STATES", "ConversionError", "convert_product", "convert_products", "idp_dir"]
