from django.urls import path

from core.views import MigrationsView

urlpatterns = [path("", MigrationsView.as_view(), name="migrations")]
