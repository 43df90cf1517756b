"""An executor for fit tests that stops a study part-way, as Ctrl-C does."""

from __future__ import annotations

from sim.fit.runs import InlineExecutor


class InterruptingExecutor(InlineExecutor):
    """Runs inline and raises KeyboardInterrupt once more than ``after`` runs have finished."""

    def __init__(self, after: int):
        super().__init__()
        self.after = after
        self.runs = 0

    def results(self):
        for rows in super().results():
            self.runs += len(rows)
            if self.runs > self.after:
                raise KeyboardInterrupt
            yield rows
