from django.urls import path, register_converter

from monitor import converters, views

register_converter(converters.NightConverter, "night")
register_converter(converters.InstrumentConverter, "instrument")

app_name = "monitor"
urlpatterns = [
    path("", views.home, name="home"),
    path("pool/<instrument:instrument>/", views.nights, name="nights"),
    path("pool/<instrument:instrument>/<night:night>/", views.night, name="night"),
    path("frames/<int:pk>/", views.frame, name="frame"),
]
