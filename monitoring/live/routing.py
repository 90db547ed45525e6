"""The push server's URL (config/asgi.py)."""

from django.urls import path

from monitoring.live.consumers import LiveConsumer

websocket_urlpatterns = [path("ws/live/sites/<int:site_id>/", LiveConsumer.as_asgi())]
