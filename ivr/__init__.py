"""The flow engine: flow definitions and a pure state machine; the IVR simulator."""

__all__: list[str] = []
