"""Game days: a live run driven by hand (cachechaos.gameday.driver), its control API and dashboard."""
