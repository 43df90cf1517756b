"""Mesa agents: thin views over the rows of :class:`sim.model.OutreachModel`'s arrays.

The model's arrays are the only state; an agent reads and names a row, so the visualisation and
an analyst can inspect peers, professionals and clients as objects while the weekly dynamics run
over arrays.
"""

from __future__ import annotations

import itertools
import weakref

import mesa

from sim.model import state as E

__all__ = ["Client", "ClosePeer", "DistantPeer", "Peer", "Professional", "STATE_NAMES"]

STATE_NAMES = ("hidden", "contacted", "engaged", "linked", "retained")
_STATUS_NAMES = ("working", "resting", "withdrawn")


class _IdCounters(weakref.WeakKeyDictionary):
    """Each model's counter of agent ids, forgotten with the model.

    Mesa 3.3 keeps these counters in ``Agent._ids``, a class-level dict keyed by the model
    itself, so every model that ever made an agent stays in memory for the life of the process
    (mesa/mesa#3179, fixed in Mesa 3.4, which needs Python 3.12): a sweep's worker leaked a
    whole model, about half a megabyte at 3,000 people, per run. The same counting, with weak
    keys.
    """

    def __getitem__(self, model):
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = itertools.count(1)
            self[model] = counter
            return counter


class _Agent(mesa.Agent):
    """A Mesa agent whose id counter does not keep its model alive (see :class:`_IdCounters`)."""

    _ids = _IdCounters()


class Peer(_Agent):
    """A peer worker: a member of the hidden population employed by the programme.

    Args:
        model: the outreach model.
        row: the peer's row in the model's peer arrays.
    """

    kind_name = "peer"

    def __init__(self, model, row: int):
        super().__init__(model)
        self.row = row

    @property
    def node(self) -> int:
        """The peer's position in the social graph."""
        return int(self.model.peers.node[self.row])

    @property
    def energy(self) -> float:
        """Energy from 0 (exhausted) to 1."""
        return float(self.model.peers.energy[self.row])

    @property
    def status(self) -> str:
        """'working', 'resting' or 'withdrawn'."""
        return _STATUS_NAMES[self.model.peers.status[self.row]]

    @property
    def caseload(self) -> int:
        """Engaged clients this peer supports now."""
        return int(self.model.peers.caseload[self.row])

    @property
    def hours_worked(self) -> float:
        """Hours worked in the last week (crises included)."""
        return float(self.model.peers.hours_worked[self.row])

    @property
    def strength(self) -> float:
        """Strength as a professional last assessed it (energy then; 1 if never assessed)."""
        return float(self.model.peers.strength[self.row])

    @property
    def ever_exhausted(self) -> bool:
        """Whether the peer has been exhausted at least once."""
        return bool(self.model.peers.ever_exhausted[self.row])

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(row={self.row}, node={self.node}, status={self.status}, "
            f"energy={self.energy:.2f}, caseload={self.caseload}, "
            f"hours={self.hours_worked:.1f})"
        )


class ClosePeer(Peer):
    """A close (connected) peer: long-term, at a fixed site, strong at linkage."""

    kind_name = "close"
    kind = E.CLOSE


class DistantPeer(Peer):
    """A distant (remote) peer: inside the subculture, strong at finding and first contact."""

    kind_name = "distant"
    kind = E.DISTANT


class Professional(_Agent):
    """A salaried professional: coordination, supervision, assessment, appointments, house calls.

    Their weekly hours, less the share for work outside the peer programme, go to the
    programme's tasks in the order :func:`sim.model.kernel.plan` states.

    Args:
        model: the outreach model.
        index: the professional's number in the team.
    """

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = index

    @property
    def hours_per_week(self) -> float:
        """This professional's salaried hours a week."""
        return self.model.scenario.services.professional_hours_per_week

    @property
    def programme_hours_per_week(self) -> float:
        """This professional's hours a week for the peer programme (outside work left out)."""
        sv = self.model.scenario.services
        return sv.professional_hours_per_week * (1.0 - sv.outside_work_share)


class Client(_Agent):
    """A view of one member of the hidden population as a client.

    Made on demand by :meth:`sim.model.OutreachModel.client`; never part of a run's hot path.
    """

    def __init__(self, model, node: int):
        super().__init__(model)
        self.node = node

    @property
    def state(self) -> str:
        """'hidden', 'contacted', 'engaged', 'linked' or 'retained'."""
        return STATE_NAMES[self.model.cstate[self.node]]

    @property
    def peer(self) -> Peer | None:
        """The peer who contacted or supports this client, if any."""
        row = int(self.model.peer_of[self.node])
        return self.model.peer_agents[row] if row >= 0 else None

    @property
    def degree(self) -> int:
        """Number of ties in the social graph."""
        g = self.model.world.graph
        return int(g.indptr[self.node + 1] - g.indptr[self.node])

    def __repr__(self) -> str:
        return f"Client(node={self.node}, state={self.state})"
