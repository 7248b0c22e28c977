from rest_framework.routers import SimpleRouter

from accounts import views

router = SimpleRouter()
router.register("users", views.AdminUserViewSet, basename="admin-user")
router.register(
    "access-requests", views.AdminAccessRequestViewSet, basename="admin-access-request"
)

urlpatterns = router.urls
