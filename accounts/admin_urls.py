from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts import views
from core.views import ActivityLogView, StatsView

router = SimpleRouter()
router.register("users", views.AdminUserViewSet, basename="admin-user")
router.register(
    "access-requests", views.AdminAccessRequestViewSet, basename="admin-access-request"
)

urlpatterns = [
    path("activity/", ActivityLogView.as_view(), name="activity"),
    path("stats/", StatsView.as_view(), name="stats"),
    *router.urls,
]
