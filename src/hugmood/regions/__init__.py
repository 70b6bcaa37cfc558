"""Regions: where each person's data lives (geography), and the rules each region applies
(the regional policy engine), both read from data files checked at start-up."""
