"""The HTTP layer: the app factory, error mapping and request dependencies."""
