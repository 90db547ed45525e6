"""Lists stay JSON arrays (the API contract); paging travels in headers."""

from typing import Any

from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response


class HeaderLimitOffsetPagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000

    def get_paginated_response(self, data: Any) -> Response:
        headers = {"X-Total-Count": str(self.count)}
        links = []
        if (next_url := self.get_next_link()) is not None:
            links.append(f'<{next_url}>; rel="next"')
        if (prev_url := self.get_previous_link()) is not None:
            links.append(f'<{prev_url}>; rel="prev"')
        if links:
            headers["Link"] = ", ".join(links)
        return Response(data, headers=headers)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return schema
