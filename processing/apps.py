from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ProcessingConfig(AppConfig):
    name = "processing"
    verbose_name = "Phoenix processing"

    def ready(self):
        from processing import checks  # noqa: F401 - registers the system checks
        from processing.roles import ensure_roles
        from processing.schedules import register_schedules

        post_migrate.connect(register_schedules, sender=self, dispatch_uid="phoenix-schedules")
        post_migrate.connect(ensure_roles, sender=self, dispatch_uid="phoenix-roles")
