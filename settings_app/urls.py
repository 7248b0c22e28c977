from django.urls import path

from settings_app import views

urlpatterns = [
    path("", views.PreferencesView.as_view(), name="preferences"),
    path("reset/", views.PreferencesResetView.as_view(), name="preferences-reset"),
]
