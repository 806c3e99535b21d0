"""Recipes, the runner, executors, the CLI and the report."""
