"""Project tooling: simulator environment, lint and synthesis flows."""
