"""Reports for strategy meetings: chronology, timeline figure and the explained alert report."""
