"""Data: the registry of data sets, the verified fetch, and one prepare module per data set."""
