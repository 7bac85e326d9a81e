"""``manage.py demo``: the whole product on the embedded defaults, shown working (the top of the dependency order)."""
