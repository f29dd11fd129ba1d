"""The synthetic period: its days and the school sessions in it (terms, half-terms, holidays)."""

from __future__ import annotations

import numpy as np
import pandas as pd


class Calendar:
    """The period covered and its school sessions."""

    def __init__(self, as_of: str, months: int):
        self.end = pd.Timestamp(as_of)
        self.start = self.end - pd.DateOffset(months=months) + pd.Timedelta(days=1)
        self.days = int((self.end - self.start).days) + 1
        all_days = pd.date_range(self.start, self.end, freq="D")
        holiday = (
            (all_days.month == 8)
            | ((all_days.month == 12) & (all_days.day >= 20))
            | ((all_days.month == 1) & (all_days.day <= 3))
            | ((all_days.month == 10) & (all_days.day >= 25))
            | ((all_days.month == 4) & (all_days.day <= 10))
            | ((all_days.month == 2) & (all_days.day >= 14) & (all_days.day <= 21))
        )
        school = all_days[(all_days.day_of_week < 5) & ~holiday]
        self.school_day = ((school - self.start).days).to_numpy()
        self.school_text = school.strftime("%d/%m/%Y").to_numpy()

    def date(self, day: np.ndarray, fmt: str) -> np.ndarray:
        return (self.start + pd.to_timedelta(day, unit="D")).strftime(fmt).to_numpy()
