"""The model-based test of the ticket engine (tests/test_model_engine.py): a hypothesis state machine that
drives a small hospital through the product's public entry points and checks the engine's invariants
against the database after every step. See docs/operations.md, "Model-based test"."""
