"""enterprises."""
