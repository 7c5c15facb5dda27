"""`ActionDelay`: the queue that makes each world apply the action given ``delay`` env steps ago."""

from __future__ import annotations

import torch


class ActionDelay:
    """Per-world FIFO of actions [delay + 1, N, nu] (on the host). With ``delay = 0`` it is the identity.

    A reset world's queue is emptied (zeros: no action is applied until its own actions arrive), and an action
    given on a step that a world ignores (the reset step of NEXT_STEP autoreset) is not queued for it.
    """

    def __init__(self, delay: int, num_worlds: int, nu: int):
        if not isinstance(delay, int) or delay < 0:
            raise ValueError(f"action delay must be a non-negative integer, got {delay!r}")
        self.delay = delay
        self._queue = torch.zeros(delay + 1, num_worlds, nu)

    def reset(self, worlds: torch.Tensor) -> None:
        """Empty the queues of ``worlds`` (int tensor [k])."""
        if self.delay:
            self._queue[:, worlds] = 0.0

    def push(self, action: torch.Tensor, ignored: torch.Tensor | None = None) -> torch.Tensor:
        """Queue ``action`` [N, nu] and return the one applied now (same device and dtype). ``ignored``: int tensor
        of worlds whose action this step is discarded (they queue zeros instead)."""
        if not self.delay:
            return action
        new = action.detach().cpu().clone()
        if ignored is not None and len(ignored):
            new[ignored.cpu()] = 0.0
        self._queue = torch.cat([self._queue[1:], new[None]])
        return self._queue[0].to(action)
