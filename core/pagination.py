from __future__ import annotations

from typing import Any

from django.core import paginator
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


class _Page(paginator.Page):
    def __iter__(self):
        # Sequence's __iter__ indexes the page one item at a time (DRF lists it).
        return iter(self.object_list)


class _Paginator(paginator.Paginator):
    def _get_page(self, *args, **kwargs) -> _Page:
        return _Page(*args, **kwargs)


class PageNumberPagination(pagination.PageNumberPagination):
    django_paginator_class = _Paginator
    page_size_query_param = "page_size"
    max_page_size = 100
    page_size_query_description = (
        "Number of results per page, 1 or more; larger than 100 is read as 100."
    )

    def get_page_size(self, request: Request) -> int | None:
        """400 `invalid` for a page_size that is not a whole number from 1 up.

        DRF's falls back to the default size, so a typo would go unnoticed. Empty
        is absent, as for every query parameter (the schema's `allowEmptyValue`).
        """
        raw = request.query_params.get(self.page_size_query_param)
        if not raw:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise ValidationError(
                {self.page_size_query_param: ["A whole number from 1 up."]}
            )
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters
