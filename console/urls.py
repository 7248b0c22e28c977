from django.urls import path
from rest_framework.routers import SimpleRouter

from console import views

router = SimpleRouter()
router.register("users", views.AdminUserViewSet, basename="admin-user")
router.register("groups", views.AdminGroupViewSet, basename="admin-group")
router.register(
    "access-requests", views.AdminAccessRequestViewSet, basename="admin-access-request"
)

urlpatterns = [
    path("activity/", views.ActivityLogView.as_view(), name="activity"),
    path("stats/", views.StatsView.as_view(), name="stats"),
    path("permissions/", views.PermissionListView.as_view(), name="permissions"),
    *router.urls,
]
