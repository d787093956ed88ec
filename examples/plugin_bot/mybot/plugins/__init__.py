"""Every module here with a module-level ``router`` is a plugin: ``client.load_plugins("mybot.plugins")``."""
