"""Scripts that rebuild registry data files from the public sources they come from."""
