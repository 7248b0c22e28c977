"""django-filter's DRF backend, without building a FilterSet that has nothing to do."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend


class FilterFieldsBackend(DjangoFilterBackend):
    """DjangoFilterBackend, skipped when no query parameter names a filter.

    A view's `filterset_fields` list makes exact, optional filters, each read from
    the parameter of its field's name: with none of them in the query, the
    FilterSet (0.3 to 0.4 ms a request to build and validate) would return the
    queryset as it is. A `filterset_class`, or `filterset_fields` as a dict, always
    runs.
    """

    def filter_queryset(self, request, queryset, view):
        fields = getattr(view, "filterset_fields", None)
        if (
            getattr(view, "filterset_class", None) is None
            and isinstance(fields, list | tuple)
            and not any(name in request.query_params for name in fields)
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)
