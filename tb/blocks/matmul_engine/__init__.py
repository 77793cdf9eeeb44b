"""Bench of the matrix engine (tests: tb/blocks/test_matmul_engine.py).

* `env`        - the environment: agents on the wrapper's ports, the clocked step, the mirror.
* `scoreboard` - what each MATMUL must do, compared with what the agents saw.
* `sequences`  - operand placement and random instructions.
"""
