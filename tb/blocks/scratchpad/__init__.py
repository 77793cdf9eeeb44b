"""Bench of the banked scratchpad (tests: tb/blocks/test_scratchpad.py).

* `env`        - the scratchpad-port driver on every port, the clocked step, request helpers.
* `scoreboard` - the reference model advanced every cycle, responses, pulses and counters.
"""
