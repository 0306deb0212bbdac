"""The brain and the entry point: config, verification, routing policy, agent API, CLI."""

__all__: list[str] = []
