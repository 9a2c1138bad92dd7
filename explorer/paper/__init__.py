"""Paper tier: the published data set and the reproduction of its numbers with this tool."""
