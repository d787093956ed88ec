"""mybot: a SmartQQ bot built from plugins (see ../main.py)."""
