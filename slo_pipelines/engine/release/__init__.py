"""Release management on error budgets: the deploy gate, feature-flag rollout caps, concurrent-release
planning, blue-green rollback triggers, canary analysis and change-board assessments (DESIGN.md §11).

Everything here is pure: it takes the budget state of SLO objectives (from `engine.budgets` or the
warehouse's snapshots), the typed `BudgetPolicy` documents and plain release/change records, and returns
decisions that carry the numbers behind them.
"""
