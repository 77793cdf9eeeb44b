"""Bench of the vector engine (tests: tb/blocks/test_vector_engine.py).

* `env`        - the environment: agents on the wrapper's ports, the clocked loop, the mirror.
* `scoreboard` - what each instruction must do, compared with what the agents saw.
* `sequences`  - random instructions and operand data.
"""
