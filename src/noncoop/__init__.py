"""noncoop: explained alerts for multi-agency patterns of family non-cooperation."""

__version__ = "0.1.0"
