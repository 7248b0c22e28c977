from django.urls import path

from console.views import MigrationsView

urlpatterns = [path("", MigrationsView.as_view(), name="migrations")]
