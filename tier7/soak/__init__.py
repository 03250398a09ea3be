"""``tier7 soak``: hours of shaped load with a random fault schedule, analysed window by window (issue 15)."""
