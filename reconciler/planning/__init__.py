"""The planner's parts, one job each; `reconciler.planner.plan` is the entry point.

- `instance`: what one instance's planning looks up and collects
- `unrecorded`: a declared address with no record (create, adopt, conflict)
- `recorded`: a declared, recorded address (no-op, update, drift, or replace)
- `replace`: how a replace is carried out (strategy, remote ids)
- `landed`: recognising an upload an interrupted apply never recorded
- `orphans`: what no declared address claims (orphans, superseded ids, unmanaged)

Every rule is a function of the `InstancePlanner` (`p`), not a method on it,
so each module reads on its own and imports only what it calls.
"""
