"""demo: the offline demo: a local server speaking every provider's API, and the calls it serves."""
