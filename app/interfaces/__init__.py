"""The contracts every part is written against: the clock, event sources, market feeds,
connectors (venues) and strategies.

They sit below every concrete venue (connectors/) and strategy (strategies/), which sit
below the engine (app/engine) and the one wiring module (app/wiring) that builds sessions
and the desktop workspace from configs; the UI is on top. import-linter checks it
(.importlinter, run by tests/test_layering.py).
"""
