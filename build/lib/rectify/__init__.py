"""rectify: supervised rectification of workplace-safety hazards (安全生产事故隐患整改督办)."""

__version__ = "0.1.0"
