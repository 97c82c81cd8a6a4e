"""Products of ABs (and static calibrations): the registry raw2master association draws on."""

from django.db import models

from processing.choices import ProductKind, ProductState


class Product(models.Model):
    """One product file. `keywords` holds the header keywords rules match on (OCA names),
    so association never opens files."""

    instance = models.ForeignKey("processing.Instance", on_delete=models.PROTECT,
                                 related_name="products")
    ab = models.ForeignKey("processing.AssociationBlock", null=True, blank=True,
                           on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=200)
    path = models.CharField(max_length=1000)
    pro_catg = models.CharField(max_length=80)
    kind = models.CharField(max_length=10, choices=ProductKind.choices)
    state = models.CharField(max_length=10, choices=ProductState.choices,
                             default=ProductState.VIRTUAL)
    night = models.DateField(null=True, blank=True)
    mjd_obs = models.FloatField(null=True, blank=True)
    keywords = models.JSONField(default=dict, blank=True)
    provenance = models.JSONField(
        default=dict, blank=True, help_text="PRO.REC1.RAW*/CAL* of the header: {raw: [], cal: []}"
    )
    md5 = models.CharField(max_length=32, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    source = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="derived",
        help_text="IDPs and ancillaries: the science product they were converted from",
    )
    original_name = models.CharField(max_length=200, blank=True,
                                     help_text="name the recipe gave it, before renaming")
    moved_at = models.DateTimeField(null=True, blank=True)
    validation = models.JSONField(
        default=dict, blank=True,
        help_text="last Phase 3 validation: {at, errors, warnings, findings: [...]}",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["instance", "pro_catg", "mjd_obs"]
        indexes = [
            models.Index(fields=["instance", "kind", "state", "pro_catg", "mjd_obs"],
                         name="product_association"),
            models.Index(fields=["instance", "night"], name="product_night"),
        ]

    def __str__(self):
        return self.name
