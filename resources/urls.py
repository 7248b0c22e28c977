from rest_framework.routers import SimpleRouter

from resources import views

router = SimpleRouter()
router.register("", views.ResourceViewSet, basename="resource")

urlpatterns = router.urls
