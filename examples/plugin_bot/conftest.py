pytest_plugins = ["smartqq.testing"]
