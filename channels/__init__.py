"""Channel adapters: provider input in, replies out."""

__all__: list[str] = []
