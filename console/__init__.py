"""The admin API (/api/v1/admin/, /api/v1/migrate/) and the Django admin's extras."""
