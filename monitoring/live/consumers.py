"""The push server's one endpoint: `ws/live/sites/<site_id>/`, served by Channels under an
ASGI server (daphne, `make run`). A page of a signed-in nurse or clinician joins its site's
group and its own user's group; it is refused (closed, code 4403) for any other user or site,
the same rule as the board (the site they work at, `clinic.selectors`). Messages are ids and
kinds only (monitoring.live.publish); the page re-reads what changed over HTTP."""

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from clinic.core.roles import CLINICAL
from clinic.models import User
from clinic.selectors import staff_site
from monitoring.live.publish import site_group, user_group

REFUSED = 4403


def may_watch(user: Any, site_id: int) -> bool:
    """A signed-in nurse or clinician, at the site they work at."""
    if not isinstance(user, User) or not user.is_authenticated or not user.is_active or user.role not in CLINICAL:
        return False
    site = staff_site(user)
    return site is not None and site.pk == site_id


class LiveConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        site_id = int(self.scope["url_route"]["kwargs"]["site_id"])
        user = self.scope.get("user")
        if not await database_sync_to_async(may_watch)(user, site_id):
            await self.close(code=REFUSED)
            return
        assert user is not None  # noqa: S101 - may_watch checked it
        for group in (site_group(site_id), user_group(user.pk)):
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        await self.accept()
        await self.send_json({"kinds": ["hello"]})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Pages only listen; a ping is answered through the channel layer, so the pong proves
        the whole path (Redis included): with Redis away the send fails, the connection closes
        and the page falls back to polling."""
        if isinstance(content, dict) and content.get("ping"):
            await self.channel_layer.send(self.channel_name, {"type": "live.pong"})

    async def live_pong(self, event: dict[str, Any]) -> None:
        await self.send_json({"kinds": ["pong"]})

    async def live_changed(self, event: dict[str, Any]) -> None:
        await self.send_json({k: v for k, v in event.items() if k != "type"})
