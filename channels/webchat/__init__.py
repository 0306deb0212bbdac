"""The web chat: the customer's page and its websocket, replies pushed across processes."""

from channels.webchat.adapter import WebchatAdapter, agent_typing

__all__ = ["WebchatAdapter", "agent_typing"]
