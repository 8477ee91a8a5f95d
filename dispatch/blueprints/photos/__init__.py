"""photo pages."""
