"""Renderers: each reads a Plan and nothing else."""
