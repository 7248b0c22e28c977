from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.views.generic import TemplateView
from django.views.static import serve as static_serve
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import health
from core.errors import json_error
from core.file_types import EXTENSIONS as UPLOAD_EXTENSIONS
from core.files import storage_failures
from core.image_variants import (
    ImageTooLarge,
    ImageUnreadable,
    is_image_name,
    thumb_sizes,
    variant_ensure,
)
from core.storage import backend_named
from core.storage.local import asset_link_valid

logger = logging.getLogger(__name__)

HealthSerializer = inline_serializer(
    "Health",
    {
        "status": serializers.CharField(),
        "database": serializers.CharField(),
        "storage": serializers.CharField(),
        "cache": serializers.CharField(),
        "version": serializers.CharField(),
    },
)


class HealthView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: HealthSerializer, 503: HealthSerializer})
    def get(self, request: Request) -> Response:
        current = health.readiness()
        return Response(current.body, status=current.status)


# The types uploads are vetted for render harmlessly; anything else is an attachment.
INLINE_SAFE_TYPES = frozenset(UPLOAD_EXTENSIONS)


def serve_asset(request: HttpRequest, path: str) -> HttpResponse | FileResponse:
    """Uploaded files from local disk, and image variants (`?thumb=`) of any storage's
    files, for a signed, unexpired link only; never a page."""
    if not asset_link_valid(
        path,
        expires=request.GET.get("expires", ""),
        signature=request.GET.get("signature", ""),
    ):
        raise Http404("No such file.")
    served_here = isinstance(default_storage, FileSystemStorage)
    if (thumb := request.GET.get("thumb")) is not None:
        return _serve_variant(request, path, thumb, served_here=served_here)
    if not served_here:
        raise Http404("No such file.")  # the bucket serves its own files
    return _served(request, path)


def _serve_variant(
    request: HttpRequest, path: str, thumb: str, *, served_here: bool
) -> HttpResponse | FileResponse:
    if (size := thumb_sizes().get(thumb)) is None:
        allowed = ", ".join(thumb_sizes()) or "none"
        return json_error(
            HTTPStatus.BAD_REQUEST,
            "thumb_size_not_allowed",
            f"thumb must be one of the sizes in THUMB_SIZES: {allowed}.",
        )
    if not is_image_name(path):
        return json_error(
            HTTPStatus.BAD_REQUEST,
            "thumb_not_an_image",
            "Only images have variants; fetch this file without thumb.",
        )
    try:
        variant = variant_ensure(name=path, size=size)
    except FileNotFoundError:
        raise Http404("No such file.") from None
    except storage_failures():
        logger.warning("Storage failed making the variant %s of %s", thumb, path)
        response = json_error(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "service_unavailable",
            "File storage did not answer; try again shortly.",
        )
        response["Retry-After"] = "5"
        return response
    except ImageTooLarge:
        return json_error(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "image_too_large",
            "The image has too many pixels to resize (THUMB_MAX_PIXELS).",
        )
    except ImageUnreadable:
        return json_error(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "image_unreadable",
            "The file cannot be decoded as an image.",
        )
    if served_here:
        return _served(request, variant)
    return HttpResponseRedirect(default_storage.url(variant))


def _served(request: HttpRequest, path: str) -> HttpResponse | FileResponse:
    response = static_serve(request, path, document_root=str(settings.MEDIA_ROOT))
    # A sandboxed document runs no script, even if markup ever slipped through.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    content_type = response.get("Content-Type", "").split(";")[0].strip()
    if content_type not in INLINE_SAFE_TYPES:
        response["Content-Disposition"] = "attachment"
    return response


class StartPageView(TemplateView):
    """What is running and where to go next, for developers trying the backend."""

    template_name = "core/start.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        backend = settings.STORAGES["default"]["BACKEND"]
        client_ids = settings.GOOGLE_CLIENT_IDS
        return {
            **super().get_context_data(**kwargs),
            "version": settings.VERSION,
            "database": connection.display_name,
            "storage": named.label
            if (named := backend_named(backend))
            else backend.rsplit(".", 1)[-1],
            "signup_mode": settings.SIGNUP_MODE,
            "sign_in_methods": _sign_in_methods(),
            "refresh_token_in": "an HttpOnly cookie"
            if settings.JWT_REFRESH_COOKIE
            else "the JSON body",
            "google_client_id": client_ids[0] if client_ids else "",
        }

    def render_to_response(self, context: dict[str, Any], **kwargs: Any):
        response = super().render_to_response(context, **kwargs)
        if context["google_client_id"]:
            # Google's button needs the page's origin in the Referer of its
            # requests, and its sign-in popup needs a way back to this window.
            response["Referrer-Policy"] = "strict-origin-when-cross-origin"
            response["Cross-Origin-Opener-Policy"] = "same-origin-allow-popups"
        return response


def _sign_in_methods() -> list[str]:
    """What the API accepts, by how it is configured (issuers by URL, never keys)."""
    methods = ["password", "emailed code"]
    if settings.GOOGLE_CLIENT_IDS:
        methods.append("Google")
    methods += [
        f"tokens from {issuer['issuer']}" for issuer in settings.EXTERNAL_JWT_ISSUERS
    ]
    return methods
