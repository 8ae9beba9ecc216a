"""The labelled/unlabelled split of an active-learning run (no mmengine import).

Image ids are strings (VOC ``img_id``), so the split never depends on the position
of an image in a filtered dataset. ``cycle`` counts the selections made so far: the
labelled set of training cycle ``k`` is the initial set plus ``k`` selections.
"""
import hashlib
import json
import math
import os
import random

from .io import atomic_write_json, atomic_write_text


class PoolError(ValueError):
    """A request that would break the split; raised before anything changes."""


def pool_digest(ids):
    """A short fingerprint of a candidate set, to tell protocols apart."""
    return hashlib.sha1('\n'.join(sorted(ids)).encode()).hexdigest()[:12]


def _checked_ids(ids, what):
    ids = list(ids)
    bad = [i for i in ids if not isinstance(i, str)]
    if bad:
        raise PoolError(f'{what}: image ids must be strings, got {bad[0]!r}')
    seen = set()
    dup = [i for i in ids if i in seen or seen.add(i)]
    if dup:
        raise PoolError(f'{what}: duplicate image id {dup[0]!r}')
    return ids


class PoolState:
    """Candidate ids, labelled ids in the order and cycle they were added, history."""

    def __init__(self, pool_ids):
        self.pool_ids = tuple(sorted(_checked_ids(pool_ids, 'pool')))
        if not self.pool_ids:
            raise PoolError('pool: no candidate images')
        self._pool_set = frozenset(self.pool_ids)
        self.labelled = []
        self.history = []
        self.initial_seed = None

    # ----------------------------------------------------------------- queries
    @property
    def cycle(self):
        return max(len(self.history) - 1, 0)

    @property
    def initialised(self):
        return bool(self.history)

    @property
    def labelled_set(self):
        return frozenset(self.labelled)

    @property
    def unlabelled(self):
        """Unlabelled ids, sorted (the canonical scoring order)."""
        labelled = self.labelled_set
        return [i for i in self.pool_ids if i not in labelled]

    @property
    def digest(self):
        return pool_digest(self.pool_ids)

    # --------------------------------------------------------------- mutations
    def init_random(self, initial_size, seed):
        """Draw the cycle-0 labelled set: ``initial_size`` ids, seeded."""
        if isinstance(initial_size, bool) or not isinstance(initial_size, int) or initial_size <= 0:
            raise PoolError(f'initial_size must be a positive integer, got {initial_size!r}')
        if initial_size > len(self.pool_ids):
            raise PoolError(f'initial_size={initial_size} is larger than the pool '
                            f'({len(self.pool_ids)} images)')
        ids = random.Random(f'initial-{seed}').sample(self.pool_ids, initial_size)
        self.init_from_ids(ids, seed=seed)

    def init_from_ids(self, ids, seed=None):
        """Use a given cycle-0 labelled set (e.g. from another run's initial.json)."""
        if self.initialised:
            raise PoolError('the initial split is already set')
        ids = _checked_ids(ids, 'initial split')
        unknown = [i for i in ids if i not in self._pool_set]
        if unknown:
            raise PoolError(f'initial split: {len(unknown)} id(s) not in the pool, '
                            f'e.g. {unknown[0]!r}')
        if not ids or len(ids) >= len(self.pool_ids):
            raise PoolError(f'initial split: needs between 1 and {len(self.pool_ids) - 1} '
                            f'ids, got {len(ids)}')
        self.labelled = list(ids)
        self.initial_seed = seed
        self.history = [dict(cycle=0, added=list(ids), scores={})]

    def add(self, selected, budget, scores=None):
        """Label ``selected`` (exactly ``min(budget, remaining)`` unlabelled ids)."""
        if not self.initialised:
            raise PoolError('add() before the initial split was set')
        if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
            raise PoolError(f'budget must be a positive integer, got {budget!r}')
        selected = _checked_ids(selected, 'selection')
        labelled = self.labelled_set
        outside = [i for i in selected if i not in self._pool_set or i in labelled]
        if outside:
            raise PoolError(f'selection: {outside[0]!r} is not an unlabelled pool image')
        expected = min(budget, len(self.pool_ids) - len(labelled))
        if len(selected) != expected:
            raise PoolError(f'selection: expected {expected} ids, got {len(selected)}')
        kept = {}
        if scores:
            missing = [i for i in selected if i not in scores]
            if missing:
                raise PoolError(f'selection: no score for selected id {missing[0]!r}')
            kept = {i: float(scores[i]) for i in selected}
            bad = [i for i, v in kept.items() if not math.isfinite(v)]
            if bad:
                raise PoolError(f'selection: score of {bad[0]!r} is not finite')
        self.labelled.extend(selected)
        self.history.append(dict(cycle=len(self.history), added=list(selected), scores=kept))

    @property
    def exhausted(self):
        return len(self.labelled) == len(self.pool_ids)

    # ------------------------------------------------------------- persistence
    def state_dict(self):
        return dict(pool_ids=list(self.pool_ids), labelled=list(self.labelled),
                    history=[dict(h) for h in self.history], initial_seed=self.initial_seed,
                    digest=self.digest)

    @classmethod
    def from_state_dict(cls, state):
        pool = cls(state['pool_ids'])
        pool.load_state_dict(state)
        return pool

    def load_state_dict(self, state):
        """Restore labelled ids and history; the candidate set must match."""
        if tuple(sorted(state['pool_ids'])) != self.pool_ids:
            raise PoolError(f"saved split is for another pool (digest {state.get('digest')}, "
                            f'this pool {self.digest})')
        check = PoolState(self.pool_ids)
        history = state['history']
        if history:
            check.init_from_ids(history[0]['added'], seed=state.get('initial_seed'))
            for h in history[1:]:
                check.add(h['added'], budget=len(h['added']), scores=h['scores'])
        if check.labelled != list(state['labelled']):
            raise PoolError('saved split: labelled ids do not match its history')
        self.labelled, self.history = check.labelled, check.history
        self.initial_seed = check.initial_seed

    def initial_dict(self):
        return dict(ids=list(self.history[0]['added']), seed=self.initial_seed,
                    pool_size=len(self.pool_ids), pool_digest=self.digest)

    def save(self, folder):
        """Write ``initial.json``, ``cycle_{k}.json``/``_trainval.txt`` and ``state.json``."""
        if not self.initialised:
            raise PoolError('nothing to save: the initial split is not set')
        k = self.cycle
        initial = os.path.join(folder, 'initial.json')
        if not os.path.exists(initial):
            atomic_write_json(initial, self.initial_dict())
        last = self.history[-1]
        atomic_write_json(os.path.join(folder, f'cycle_{k}.json'),
                          dict(cycle=k, labelled=self.labelled, added=last['added'],
                               scores=last['scores']))
        atomic_write_text(os.path.join(folder, f'cycle_{k}_trainval.txt'),
                          ''.join(i + '\n' for i in self.labelled))
        atomic_write_json(os.path.join(folder, 'state.json'), self.state_dict())


def load_initial_ids(path, pool_ids=None):
    """Read an ``initial.json`` (or a plain id-per-line txt); check it against the pool."""
    with open(path) as f:
        text = f.read()
    if path.endswith('.json'):
        ids = json.loads(text)['ids']
    else:
        ids = [line.strip() for line in text.splitlines() if line.strip()]
    ids = _checked_ids(ids, f'initial split {path}')
    if pool_ids is not None:
        pool = set(pool_ids)
        unknown = [i for i in ids if i not in pool]
        if unknown:
            raise PoolError(f'initial split {path}: {len(unknown)} id(s) not in the pool, '
                            f'e.g. {unknown[0]!r}')
    return ids
